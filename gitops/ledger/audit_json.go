package ledger

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/manifests"
)

// AppendJSON appends ev's JSON to b: the bytes encoding/json writes for
// it with HTML escaping off (json.Encoder.SetEscapeHTML(false)), without
// the Encoder's newline. An audit writes tens of thousands of events
// (74 MB on the benchmark repository); encoding/json's reflection over
// them was most of a warm audit's CPU. TestAuditEventJSON holds the two
// to the same bytes for events with every field set, so a field added to
// AuditEvent (or to what it holds) and not here fails it.
func (ev *AuditEvent) AppendJSON(b []byte) ([]byte, error) {
	var err error
	b = append(b, `{"time":`...)
	if b, err = appendTime(b, ev.Time); err != nil {
		return nil, err
	}
	if ev.CommitterTime != nil {
		b = append(b, `,"committerTime":`...)
		if b, err = appendTime(b, *ev.CommitterTime); err != nil {
			return nil, err
		}
	}
	b = appendField(b, "environment", ev.Environment)
	b = appendField(b, "model", ev.Model)
	b = appendField(b, "action", ev.Action)
	b = appendOmitEmpty(b, "fromVersion", ev.FromVersion)
	b = appendOmitEmpty(b, "toVersion", ev.ToVersion)
	b = append(b, `,"from":`...)
	b = ev.From.appendJSON(b)
	b = append(b, `,"to":`...)
	b = ev.To.appendJSON(b)
	b = appendOmitEmpty(b, "strategy", ev.Strategy)
	b = appendOmitEmpty(b, "forced", ev.Forced)
	b = appendOmitEmpty(b, "rollback", ev.Rollback)
	b = appendOmitEmpty(b, "requestedBy", ev.RequestedBy)
	b = append(b, `,"approvedBy":`...)
	b = appendStrings(b, ev.ApprovedBy)
	b = appendOmitEmpty(b, "mergedBy", ev.MergedBy)
	b = appendOmitEmpty(b, "policy", ev.Policy)
	if ev.PullRequest != 0 {
		b = append(b, `,"pullRequest":`...)
		b = strconv.AppendInt(b, int64(ev.PullRequest), 10)
	}
	b = appendOmitEmpty(b, "checkedHead", ev.CheckedHead)
	b = appendField(b, "via", ev.Via)
	b = appendField(b, "commit", ev.Commit)
	b = appendOmitEmpty(b, "changeCommit", ev.ChangeCommit)
	b = appendOmitEmpty(b, "reverts", ev.Reverts)
	b = appendField(b, "subject", ev.Subject)
	b = append(b, `,"signature":`...)
	b = appendSignature(b, &ev.Signature)
	if ev.ChangeSignature != nil {
		b = append(b, `,"changeSignature":`...)
		b = appendSignature(b, ev.ChangeSignature)
	}
	b = appendOmitEmpty(b, "description", ev.Description)
	if len(ev.Notes) > 0 {
		b = append(b, `,"notes":`...)
		b = appendStrings(b, ev.Notes)
	}
	return append(b, '}'), nil
}

// appendJSON appends st's JSON (null for nil) as encoding/json writes it.
func (st *ReleaseState) appendJSON(b []byte) []byte {
	if st == nil {
		return append(b, "null"...)
	}
	b = append(b, `{"strategy":`...)
	b = appendJSONString(b, st.Strategy)
	b = appendOmitEmpty(b, "match", st.Match)
	b = append(b, `,"versions":`...)
	if st.Versions == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range st.Versions {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendReleasedVersion(b, &st.Versions[i])
		}
		b = append(b, ']')
	}
	b = appendOmitEmpty(b, "error", st.Error)
	return append(b, '}')
}

func appendReleasedVersion(b []byte, v *manifests.ReleasedVersion) []byte {
	b = append(b, `{"version":`...)
	b = appendJSONString(b, v.Version.String()) // its MarshalText
	b = appendField(b, "digest", v.Digest.String())
	if v.Weight != nil {
		b = append(b, `,"weight":`...)
		b = strconv.AppendInt(b, int64(*v.Weight), 10)
	}
	b = appendOmitEmpty(b, "role", v.Role)
	b = appendOmitEmpty(b, "storageUri", v.StorageURI)
	return append(b, '}')
}

func appendSignature(b []byte, s *gitops.SignatureInfo) []byte {
	b = append(b, `{"signed":`...)
	b = strconv.AppendBool(b, s.Signed)
	b = append(b, `,"trusted":`...)
	b = strconv.AppendBool(b, s.Trusted)
	b = appendOmitEmpty(b, "format", s.Format)
	b = appendOmitEmpty(b, "signer", s.Signer)
	b = appendOmitEmpty(b, "key", s.Key)
	b = appendOmitEmpty(b, "reason", s.Reason)
	b = appendOmitEmpty(b, "committer", s.Committer)
	return append(b, '}')
}

// appendTime appends t as its MarshalJSON writes it, and fails as it does
// (a year past 9999).
func appendTime(b []byte, t time.Time) ([]byte, error) {
	j, err := t.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return append(b, j...), nil
}

// appendField appends `,"key":value` (key needs no escaping).
func appendField(b []byte, key, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendJSONString(b, value)
}

// appendOmitEmpty is appendField for a field tagged omitempty.
func appendOmitEmpty(b []byte, key, value string) []byte {
	if value == "" {
		return b
	}
	return appendField(b, key, value)
}

// appendStrings appends a []string as encoding/json does: null for nil.
func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json quotes a string with
// HTML escaping off: '"' and '\\' escaped, control characters as \b, \f,
// \n, \r, \t or \u00XX, invalid UTF-8 as \ufffd, U+2028 and U+2029
// escaped, everything else as it is.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
