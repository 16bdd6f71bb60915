"""corral: background coding agents that make one change across many repositories.

Importing corral has no side effects. The public surface is re-exported here.
"""

__version__ = "0.1.0"
