package signing

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// AllowedSigners is a parsed ssh allowed_signers file (see ssh-keygen(1),
// ALLOWED SIGNERS): who may sign, with which key, in which namespaces and
// during which period.
type AllowedSigners struct {
	file    string
	entries []allowedSigner
}

type allowedSigner struct {
	file        string
	line        int
	principals  string // as written, comma-separated patterns
	key         ssh.PublicKey
	namespaces  string // comma-separated patterns; "" means any
	validAfter  time.Time
	validBefore time.Time
	certAuth    bool
}

// ParseAllowedSigners parses data in the ssh allowed_signers format:
//
//	principals [options] keytype base64 [comment]
//
// where principals is a comma-separated list of patterns (optionally
// quoted), and options are cert-authority, namespaces="…",
// valid-after="YYYYMMDD[HHMM[SS]][Z]" and valid-before="…". Blank lines and
// lines starting with # are ignored. Errors name file:line.
func ParseAllowedSigners(file string, data []byte) (*AllowedSigners, error) {
	as := &AllowedSigners{file: file}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		e, err := parseAllowedSignerLine(line)
		if err != nil {
			return nil, fmt.Errorf("parsing allowed signers %s:%d: %w", file, n, err)
		}
		e.file, e.line = file, n
		as.entries = append(as.entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading allowed signers %q: %w", file, err)
	}
	return as, nil
}

func parseAllowedSignerLine(line string) (allowedSigner, error) {
	var e allowedSigner
	principals, rest, err := splitField(line)
	if err != nil {
		return e, fmt.Errorf("principals: %w", err)
	}
	if principals == "" {
		return e, fmt.Errorf("principals: empty (want e.g. alice@example.com)")
	}
	e.principals = principals
	key, _, opts, _, err := ssh.ParseAuthorizedKey([]byte(rest))
	if err != nil {
		return e, fmt.Errorf("key: %w (want [options] keytype base64 [comment] after the principals)", err)
	}
	e.key = key
	for _, o := range opts {
		name, val, hasVal := strings.Cut(o, "=")
		val = strings.Trim(val, "\"")
		switch strings.ToLower(name) {
		case "cert-authority":
			e.certAuth = true
		case "namespaces":
			if !hasVal {
				return e, fmt.Errorf("option namespaces: missing value (want namespaces=\"git\")")
			}
			e.namespaces = val
		case "valid-after", "valid-before":
			t, err := parseSSHTime(val)
			if err != nil {
				return e, fmt.Errorf("option %s: %w", name, err)
			}
			if strings.EqualFold(name, "valid-after") {
				e.validAfter = t
			} else {
				e.validBefore = t
			}
		default:
			return e, fmt.Errorf("option %q: unsupported (want cert-authority, namespaces, valid-after or valid-before)", name)
		}
	}
	return e, nil
}

// splitField splits off the first whitespace-separated field, which may be
// double-quoted.
func splitField(s string) (field, rest string, err error) {
	if strings.HasPrefix(s, "\"") {
		end := strings.IndexByte(s[1:], '"')
		if end < 0 {
			return "", "", fmt.Errorf("unterminated quote")
		}
		return s[1 : end+1], strings.TrimSpace(s[end+2:]), nil
	}
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, "", nil
	}
	return s[:i], strings.TrimSpace(s[i:]), nil
}

// parseSSHTime parses ssh-keygen's YYYYMMDD[HHMM[SS]] with an optional Z
// suffix for UTC; without it the time is local, as in OpenSSH.
func parseSSHTime(v string) (time.Time, error) {
	loc := time.Local
	if s, ok := strings.CutSuffix(v, "Z"); ok {
		v, loc = s, time.UTC
	}
	var layout string
	switch len(v) {
	case 8:
		layout = "20060102"
	case 12:
		layout = "200601021504"
	case 14:
		layout = "20060102150405"
	default:
		return time.Time{}, fmt.Errorf("invalid time %q (want YYYYMMDD[HHMM[SS]][Z])", v)
	}
	t, err := time.ParseInLocation(layout, v, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time %q (want YYYYMMDD[HHMM[SS]][Z]): %w", v, err)
	}
	return t, nil
}

// matchPatternList reports whether s matches the comma-separated OpenSSH
// pattern list (with * and ? wildcards and ! negation).
func matchPatternList(s, list string) bool {
	matched := false
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		neg := strings.HasPrefix(p, "!")
		if neg {
			p = p[1:]
		}
		if matchPattern(s, p) {
			if neg {
				return false
			}
			matched = true
		}
	}
	return matched
}

func matchPattern(s, p string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if matchPattern(s[i:], p[1:]) {
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

// lookup finds the entries whose key (or, for certificates, whose CA) signed
// with pub.
func (as *AllowedSigners) lookup(pub ssh.PublicKey) []allowedSigner {
	if as == nil {
		return nil
	}
	want := pub.Marshal()
	var caKey []byte
	if cert, ok := pub.(*ssh.Certificate); ok {
		caKey = cert.SignatureKey.Marshal()
	}
	var out []allowedSigner
	for _, e := range as.entries {
		k := e.key.Marshal()
		if (!e.certAuth && bytes.Equal(k, want)) || (e.certAuth && caKey != nil && bytes.Equal(k, caKey)) {
			out = append(out, e)
		}
	}
	return out
}

// Len returns the number of entries.
func (as *AllowedSigners) Len() int {
	if as == nil {
		return 0
	}
	return len(as.entries)
}

// AllowedKey is one entry of an allowed_signers file, as another verifier
// (Flux's source-controller) needs it.
type AllowedKey struct {
	// Principals are the entry's principals as written, comma-separated.
	Principals string
	// AuthorizedKey is the public key as an authorized_keys line without a
	// comment ("ssh-ed25519 AAAA…").
	AuthorizedKey string
	// CertAuthority is true for a cert-authority entry: the key signs
	// certificates, not commits.
	CertAuthority bool
	// File and Line locate the entry.
	File string
	Line int
}

// Keys returns the entries in file order.
func (as *AllowedSigners) Keys() []AllowedKey {
	if as == nil {
		return nil
	}
	out := make([]AllowedKey, 0, len(as.entries))
	for _, e := range as.entries {
		out = append(out, AllowedKey{
			Principals:    e.principals,
			AuthorizedKey: string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(e.key))),
			CertAuthority: e.certAuth,
			File:          e.file,
			Line:          e.line,
		})
	}
	return out
}
