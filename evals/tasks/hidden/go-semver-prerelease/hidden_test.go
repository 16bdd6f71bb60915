package semver

import "testing"

func mustParse(t *testing.T, s string) Version {
	t.Helper()
	v, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestPreReleaseBeforeRelease(t *testing.T) {
	if Compare(mustParse(t, "1.0.0-alpha"), mustParse(t, "1.0.0")) != -1 {
		t.Fatal("1.0.0-alpha must be lower than 1.0.0")
	}
	if Compare(mustParse(t, "1.0.0"), mustParse(t, "1.0.0-rc.1")) != 1 {
		t.Fatal("1.0.0 must be higher than 1.0.0-rc.1")
	}
}

func TestPreReleasesInOrder(t *testing.T) {
	if Compare(mustParse(t, "1.0.0-alpha"), mustParse(t, "1.0.0-beta")) != -1 {
		t.Fatal("alpha must be lower than beta")
	}
}
