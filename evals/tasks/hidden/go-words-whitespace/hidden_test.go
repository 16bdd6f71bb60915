package textutil

import (
	"reflect"
	"testing"
)

func TestWordsAnyWhitespace(t *testing.T) {
	got := Words("  go\tis \n fun  ")
	if !reflect.DeepEqual(got, []string{"go", "is", "fun"}) {
		t.Fatalf("Words = %q", got)
	}
}

func TestInitialsWithExtraSpaces(t *testing.T) {
	if got := Initials("portable  network\tgraphics"); got != "PNG" {
		t.Fatalf("Initials = %q", got)
	}
}
