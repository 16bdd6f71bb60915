// Package semver parses and orders semantic versions such as 1.4.2 or 2.0.0-rc.1.
package semver

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is major.minor.patch with an optional pre-release label.
type Version struct {
	Major, Minor, Patch int
	Pre                 string
}

// Parse reads "MAJOR.MINOR.PATCH" with an optional "-PRERELEASE" suffix.
func Parse(s string) (Version, error) {
	core, pre, _ := strings.Cut(s, "-")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return Version{}, fmt.Errorf("semver: %q is not MAJOR.MINOR.PATCH", s)
	}
	var numbers [3]int
	for i, part := range parts {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return Version{}, fmt.Errorf("semver: %q has a bad number %q", s, part)
		}
		numbers[i] = n
	}
	return Version{numbers[0], numbers[1], numbers[2], pre}, nil
}

// String is the version as Parse reads it.
func (v Version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	if v.Pre != "" {
		s += "-" + v.Pre
	}
	return s
}

// Compare returns -1, 0 or 1 as a is lower than, equal to or higher than b.
func Compare(a, b Version) int {
	for _, d := range []int{a.Major - b.Major, a.Minor - b.Minor, a.Patch - b.Patch} {
		if d != 0 {
			return sign(d)
		}
	}
	return strings.Compare(a.Pre, b.Pre)
}

func sign(n int) int {
	if n < 0 {
		return -1
	}
	return 1
}
