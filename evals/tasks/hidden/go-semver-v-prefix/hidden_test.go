package semver

import "testing"

func TestParseVPrefix(t *testing.T) {
	v, err := Parse("v2.0.1")
	if err != nil || v != (Version{2, 0, 1, ""}) {
		t.Fatalf("Parse(v2.0.1) = %v, %v", v, err)
	}
}

func TestParseRejectsDoubleV(t *testing.T) {
	if _, err := Parse("vv2.0.1"); err == nil {
		t.Fatal("Parse(vv2.0.1) should fail: one v at most")
	}
}
