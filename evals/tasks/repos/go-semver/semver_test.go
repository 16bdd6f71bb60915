package semver

import "testing"

func TestParse(t *testing.T) {
	v, err := Parse("1.4.2")
	if err != nil || v != (Version{1, 4, 2, ""}) {
		t.Fatalf("Parse(1.4.2) = %v, %v", v, err)
	}
}

func TestParseRejectsGarbage(t *testing.T) {
	if _, err := Parse("1.x.2"); err == nil {
		t.Fatal("Parse(1.x.2) should fail")
	}
}

func TestCompareNumbers(t *testing.T) {
	a, _ := Parse("1.10.0")
	b, _ := Parse("1.9.3")
	if Compare(a, b) != 1 || Compare(b, a) != -1 || Compare(a, a) != 0 {
		t.Fatal("1.10.0 must be above 1.9.3")
	}
}
