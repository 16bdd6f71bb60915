package textutil

import (
	"reflect"
	"testing"
)

func TestReverseASCII(t *testing.T) {
	if got := Reverse("abc"); got != "cba" {
		t.Fatalf("Reverse(abc) = %q", got)
	}
}

func TestWords(t *testing.T) {
	if got := Words("go is fun"); !reflect.DeepEqual(got, []string{"go", "is", "fun"}) {
		t.Fatalf("Words = %q", got)
	}
}

func TestInitials(t *testing.T) {
	if got := Initials("portable network graphics"); got != "PNG" {
		t.Fatalf("Initials = %q", got)
	}
}
