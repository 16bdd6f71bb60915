// Package textutil holds small string helpers used by the command-line tools.
package textutil

import "strings"

// Reverse returns s with its characters in reverse order.
func Reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// Words splits s into its words.
func Words(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

// Initials returns the upper-cased first letter of each word.
func Initials(s string) string {
	var out strings.Builder
	for _, w := range Words(s) {
		out.WriteString(strings.ToUpper(w[:1]))
	}
	return out.String()
}
