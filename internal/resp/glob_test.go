package resp

import "testing"

// TestGlobMatch ensures the matcher follows Redis's glob rules.
func TestGlobMatch(t *testing.T) {
	for _, tt := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"", "", true},
		{"", "a", false},
		{"h?llo", "hello", true},
		{"h?llo", "hllo", false},
		{"h*llo", "hllo", true},
		{"h*llo", "heeeello", true},
		{"h*llo", "hello!", false},
		{"h[ae]llo", "hallo", true},
		{"h[ae]llo", "hillo", false},
		{"h[^e]llo", "hallo", true},
		{"h[^e]llo", "hello", false},
		{"h[a-b]llo", "hbllo", true},
		{"h[a-b]llo", "hcllo", false},
		{"h[b-a]llo", "hallo", true},
		{"h\\*llo", "h*llo", true},
		{"h\\*llo", "hello", false},
		{"h[\\]]llo", "h]llo", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{"*a*a*a*", "aaa", true},
		{"*a*a*a*", "aa", false},
		{"user:*:name", "user:42:name", true},
		{"user:*:name", "user:42:mail", false},
		{"\x00?\xff", "\x00\x01\xff", true},
		{"[abc", "b", true},
		{"ab\\", "ab\\", true},
		{"**x", "x", true},
	} {
		if got := globMatch([]byte(tt.pattern), []byte(tt.s)); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}
