"""`python -m corral`: the command line, for subprocesses that must run this very install."""

from corral.cli import main

if __name__ == "__main__":
    main()
