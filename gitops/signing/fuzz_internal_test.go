package signing

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// recursiveMatch is OpenSSH's match_pattern, the reference matchPattern
// must agree with.
func recursiveMatch(s, p string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if recursiveMatch(s[i:], p[1:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
			s, p = s[1:], p[1:]
		default:
			if s == "" || s[0] != p[0] {
				return false
			}
			s, p = s[1:], p[1:]
		}
	}
	return s == ""
}

func TestMatchPatternIsNotExponential(t *testing.T) {
	p := strings.Repeat("*a", 30) + "*b"
	s := strings.Repeat("a", 200)
	done := make(chan bool, 1)
	go func() { done <- matchPattern(s, p) }()
	select {
	case m := <-done:
		if m {
			t.Errorf("matchPattern(%q, %q) = true", s, p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("matchPattern takes exponential time on a pattern from the repository")
	}
}

var lineRE = regexp.MustCompile(`^parsing allowed signers f:(\d+): `)

// FuzzParseAllowedSigners: policies/allowed_signers comes from the
// repository. Any bytes give entries or an error naming the file and a
// line of it; every entry is what its own line alone parses to (no state
// leaks from one line to the next); principal patterns match as
// OpenSSH's matcher does.
func FuzzParseAllowedSigners(f *testing.F) {
	pub, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)).Public())
	if err != nil {
		f.Fatal(err)
	}
	key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	for _, s := range []string{
		"alice@example.com " + key + "\n",
		`"a,b" namespaces="git",valid-before="20300101" ` + key + " c\n# x\n",
		"*@x cert-authority " + key,
		"bob valid-after=\"20240101Z\" " + key + "\r\n\r\n  # comment\n\"unterminated " + key,
		"carol namespaces=\"git,file\" " + key + "\ncarol namespaces " + key + "\n",
		"dave unknown-option " + key + "\n",
		"eve " + strings.Replace(key, "AAAA", "!!!!", 1) + "\n",
	} {
		f.Add(s, "alice@example.com", "*@example.com")
	}
	// The file modelgit init writes: the template, then the signer's line.
	tmpl, err := os.ReadFile("../../templates/init/policies/allowed_signers")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(tmpl), "alice@example.com", "*@example.com")
	f.Add(string(tmpl)+`alice@example.com namespaces="git" `+key+"\n", "alice@example.com", "alice@example.com")
	f.Fuzz(func(t *testing.T, data, principal, pattern string) {
		if len(principal) <= 16 && len(pattern) <= 16 {
			if got, want := matchPattern(principal, pattern), recursiveMatch(principal, pattern); got != want {
				t.Errorf("matchPattern(%q, %q) = %v, OpenSSH says %v", principal, pattern, got, want)
			}
		}
		as, err := ParseAllowedSigners("f", []byte(data))
		lines := strings.Count(data, "\n") + 1
		if err != nil {
			m := lineRE.FindStringSubmatch(err.Error())
			if m == nil {
				if !strings.Contains(err.Error(), `reading allowed signers "f"`) {
					t.Fatalf("error names no line of the file: %v", err)
				}
				return
			}
			if n, _ := strconv.Atoi(m[1]); n < 1 || n > lines {
				t.Fatalf("error names line %d of %d: %v", n, lines, err)
			}
			return
		}
		all := strings.Split(data, "\n")
		for _, e := range as.entries {
			if e.file != "f" || e.line < 1 || e.line > lines {
				t.Fatalf("entry at f:%d of %d lines", e.line, lines)
			}
			one, err := ParseAllowedSigners("f", []byte(all[e.line-1]))
			if err != nil || one.Len() != 1 {
				t.Fatalf("line %d alone: %v, %d entries", e.line, err, one.Len())
			}
			o := one.entries[0]
			if o.principals != e.principals || !bytes.Equal(o.key.Marshal(), e.key.Marshal()) || o.namespaces != e.namespaces ||
				!o.validAfter.Equal(e.validAfter) || !o.validBefore.Equal(e.validBefore) || o.certAuth != e.certAuth {
				t.Fatalf("line %d parses differently alone: %+v vs %+v", e.line, o, e)
			}
			if !e.certAuth && len(as.lookup(e.key)) == 0 {
				t.Fatalf("the key of line %d is not found by lookup", e.line)
			}
		}
	})
}
