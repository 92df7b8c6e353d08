package ledger

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/modelgit/modelgit/manifests"
)

// encodingJSON is what AppendJSON must write: encoding/json's bytes with
// HTML escaping off, without the Encoder's newline.
func encodingJSON(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// awkward are strings JSON has to escape, or must not.
var awkward = []string{"", "a", `say "hi"`, `back\slash`, "tab\tnew\nline\r", "\x00\x01\x1f\x7f", "<a href='x'>&amp;</a>", "é ☃ 😀", "bad \xff\xfe utf-8", "sep\u2028par\u2029", "\b\f"}

// fill sets v (settable) at random: every field, element and pointer
// when full, else each left zero or nil half of the time. Digests and
// times, whose fields are not exported, are made whole.
func fill(r *rand.Rand, v reflect.Value, full bool) {
	if !full && r.IntN(2) == 0 {
		return
	}
	switch v.Type() {
	case reflect.TypeFor[time.Time]():
		t := time.Unix(r.Int64N(1<<34), r.Int64N(1e9))
		if r.IntN(2) == 0 {
			t = t.UTC()
		} else {
			t = t.In(time.FixedZone("", 900*(r.IntN(100)-50))) // quarter hours (MarshalBinary refuses an offset of -1 minute)
		}
		v.Set(reflect.ValueOf(t))
		return
	case reflect.TypeFor[manifests.Digest]():
		v.Set(reflect.ValueOf(manifests.FromBytes([]byte(awkward[r.IntN(len(awkward))]))))
		return
	}
	switch v.Kind() {
	case reflect.String:
		s := awkward[r.IntN(len(awkward))]
		if full && s == "" {
			s = "x"
		}
		v.SetString(s)
	case reflect.Bool:
		v.SetBool(full || r.IntN(2) == 0)
	case reflect.Int:
		v.SetInt(r.Int64N(1<<40) - 1<<39)
		if full && v.Int() == 0 {
			v.SetInt(1)
		}
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(r, p.Elem(), full)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), r.IntN(3)+btoi(full), 3)
		for i := range s.Len() {
			fill(r, s.Index(i), full)
		}
		v.Set(s)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(r, v.Field(i), full)
			}
		}
	default:
		panic("fill: no case for " + v.Type().String())
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestAuditEventJSON: AppendJSON writes the bytes encoding/json writes,
// for events with every field, pointer and slice set (a field added to
// AuditEvent, ReleaseState, a released version or a signature and not to
// AppendJSON fails this), and for events where each is set or left zero
// or nil at random (omitempty, null, empty lists), with strings that
// need escaping and some that must not be.
func TestAuditEventJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		var ev AuditEvent
		fill(r, reflect.ValueOf(&ev).Elem(), i%2 == 0)
		if i%7 == 0 {
			ev.ApprovedBy = []string{} // [] and not null
		}
		got, err := ev.AppendJSON([]byte("prefix"))
		if err != nil {
			t.Fatal(err)
		}
		if want := encodingJSON(t, &ev); !bytes.Equal(got[len("prefix"):], want) {
			t.Fatalf("event %d:\n got %s\nwant %s", i, got[len("prefix"):], want)
		}
	}
	// A time json refuses is refused.
	ev := AuditEvent{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := ev.AppendJSON(nil); err == nil {
		t.Error("a year past 9999: no error")
	}
}

// FuzzAppendJSONString: any string is quoted as encoding/json quotes it.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range awkward {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := appendJSONString(nil, s), encodingJSON(t, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	})
}

// TestChunkCodec: a chunk with every field of its events, releases and
// versions set (and one with each set or left zero at random) decodes to
// what was encoded, nil lists and pointers included, so a field added to
// cachedEvent, cachedRelease or cachedVersion and not to the codec fails
// this; a chunk cut short, or with a byte more, does not decode.
func TestChunkCodec(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 400 {
		full := i%2 == 0
		var c cacheChunk
		for range r.IntN(4) + 1 {
			var rel cachedRelease
			fill(r, reflect.ValueOf(&rel).Elem(), full)
			c.Releases = append(c.Releases, rel)
		}
		for range r.IntN(6) + 1 {
			var e cachedEvent
			fill(r, reflect.ValueOf(&e).Elem(), full)
			c.Events = append(c.Events, e)
			c.From = append(c.From, r.IntN(len(c.Releases)+1)-1)
			c.To = append(c.To, r.IntN(len(c.Releases)+1)-1)
		}
		raw, err := marshalChunk(&c)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := unmarshalChunk(raw)
		if !ok {
			t.Fatalf("chunk %d does not decode", i)
		}
		// Times compare by instant and offset: MarshalBinary keeps no
		// zone name, as gob did not.
		if a, b := encodingJSON(t, got), encodingJSON(t, c); !bytes.Equal(a, b) || !sameShape(reflect.ValueOf(got), reflect.ValueOf(c)) {
			t.Fatalf("chunk %d:\n got %s\nwant %s", i, a, b)
		}
		for _, bad := range [][]byte{raw[:len(raw)-1], append(raw[:len(raw):len(raw)], 0)} {
			if _, ok := unmarshalChunk(bad); ok {
				t.Fatalf("chunk %d decodes with %d bytes of %d", i, len(bad), len(raw))
			}
		}
	}
}

// sameShape says whether a and b have nil pointers and nil slices at the
// same places (JSON writes a nil list and an empty one alike when a field
// is omitempty).
func sameShape(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameShape(a.Elem(), b.Elem())
	case reflect.Slice:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !sameShape(a.Index(i), b.Index(i)) {
				return false
			}
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if a.Type().Field(i).IsExported() && !sameShape(a.Field(i), b.Field(i)) {
				return false
			}
		}
	}
	return true
}
