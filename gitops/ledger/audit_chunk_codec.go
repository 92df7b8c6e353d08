package ledger

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/modelgit/modelgit/gitops"
	"github.com/modelgit/modelgit/manifests"
)

// A chunk's bytes (auditCacheVersion 8). gob spent, on every event,
// reflection over its fields and an allocation for each of its strings,
// though most of them (environments, models, actions, people, signers)
// repeat from event to event: decoding the chunks was a quarter of a warm
// audit's own CPU, and encoding them and reading them back a sixth of a
// cold one's. The format instead holds
// each distinct string of the chunk that repeats (environments, models,
// people, signers, digests) once, in a table, and refers to it by its
// index; those that are each event's own (commits, subjects, notes) are
// written in place (raw), since looking each up in the table cost more
// than it saved:
//
//	chunk   = uvarint(len strings) { uvarint(len s) s }
//	          uvarint(len releases) { release }
//	          uvarint(len events) { event }
//	release = str(Strategy) str(Match) str(Error) n(versions) { version }
//	version = varint(Major) varint(Minor) varint(Patch) varint(Data)
//	          str(Digest) varint(Weight) str(Role) str(StorageURI)
//	event   = time(Time) opt(time(CommitterTime)) raw(Description) str(Environment)
//	          str(Model) str(Action) str(FromVersion) str(ToVersion) str(Strategy)
//	          str(Forced) str(Rollback) str(RequestedBy) list(ApprovedBy)
//	          str(MergedBy) str(Policy) varint(PullRequest) raw(CheckedHead)
//	          str(Via) raw(Commit) raw(ChangeCommit) raw(Reverts) raw(Subject)
//	          sig(Signature) opt(sig(ChangeSignature)) n(Notes) { raw }
//	          varint(From) varint(To)
//	str     = uvarint(index into strings)
//	raw     = uvarint(len s) s
//	time    = uvarint(len b) b, b = time.Time.MarshalBinary (what gob kept)
//	opt(x)  = 0 | 1 x
//	list    = n(strings) { str }
//	n(xs)   = uvarint(0: nil, else 1 + len xs)
//	sig     = byte(bit 0: Signed, bit 1: Trusted) str(Format) str(Signer) str(Key)
//	          str(Reason) str(Committer)
//
// TestChunkCodec holds every field of cachedEvent, cachedRelease and
// cachedVersion to a round trip; the decoder refuses (false) whatever does
// not hold together, without panicking or allocating more than the bytes
// can describe (FuzzDecodeChunk).

// chunkWriter builds a chunk's bytes: the events' part in body, the
// strings in a table written before it.
type chunkWriter struct {
	strings []string
	index   map[string]uint64
	// recent remembers the strings str met last, by a cheap key: most
	// repeat the same field of the event before, so most are found
	// without hashing them for the map.
	recent [64]struct {
		s string
		i uint64
	}
	body []byte
}

func newChunkWriter(events int) *chunkWriter {
	// The table starts with "": the most common string costs no look-up.
	return &chunkWriter{strings: []string{""}, index: map[string]uint64{"": 0}, body: make([]byte, 0, 256*events)}
}

func (w *chunkWriter) uvarint(v uint64) { w.body = binary.AppendUvarint(w.body, v) }
func (w *chunkWriter) varint(v int64)   { w.body = binary.AppendVarint(w.body, v) }

func (w *chunkWriter) raw(s string) {
	w.uvarint(uint64(len(s)))
	w.body = append(w.body, s...)
}

func (w *chunkWriter) str(s string) {
	if s == "" {
		w.body = append(w.body, 0)
		return
	}
	r := &w.recent[(len(s)+int(s[0])+7*int(s[len(s)-1]))&63]
	if r.s != s {
		i, ok := w.index[s]
		if !ok {
			i = uint64(len(w.strings))
			w.index[s] = i
			w.strings = append(w.strings, s)
		}
		r.s, r.i = s, i
	}
	w.uvarint(r.i)
}

// n writes a list's length, telling nil from empty.
func (w *chunkWriter) n(isNil bool, n int) {
	if isNil {
		w.uvarint(0)
		return
	}
	w.uvarint(uint64(n) + 1)
}

func (w *chunkWriter) list(ss []string) {
	w.n(ss == nil, len(ss))
	for _, s := range ss {
		w.str(s)
	}
}

func (w *chunkWriter) time(t time.Time) error {
	b, err := t.MarshalBinary()
	if err != nil {
		return err
	}
	w.uvarint(uint64(len(b)))
	w.body = append(w.body, b...)
	return nil
}

func (w *chunkWriter) sig(s *gitops.SignatureInfo) {
	var flags byte
	if s.Signed {
		flags |= 1
	}
	if s.Trusted {
		flags |= 2
	}
	w.body = append(w.body, flags)
	w.str(s.Format)
	w.str(s.Signer)
	w.str(s.Key)
	w.str(s.Reason)
	w.str(s.Committer)
}

// marshalChunk encodes c.
func marshalChunk(c *cacheChunk) ([]byte, error) {
	w := newChunkWriter(len(c.Events))
	w.uvarint(uint64(len(c.Releases)))
	for i := range c.Releases {
		r := &c.Releases[i]
		w.str(r.Strategy)
		w.str(r.Match)
		w.str(r.Error)
		w.n(r.Versions == nil, len(r.Versions))
		for _, v := range r.Versions {
			w.varint(int64(v.Version.Major))
			w.varint(int64(v.Version.Minor))
			w.varint(int64(v.Version.Patch))
			w.varint(int64(v.Version.Data))
			w.str(v.Digest)
			w.varint(int64(v.Weight))
			w.str(v.Role)
			w.str(v.StorageURI)
		}
	}
	w.uvarint(uint64(len(c.Events)))
	for i := range c.Events {
		e := &c.Events[i]
		if err := w.time(e.Time); err != nil {
			return nil, err
		}
		if e.CommitterTime == nil {
			w.body = append(w.body, 0)
		} else {
			w.body = append(w.body, 1)
			if err := w.time(*e.CommitterTime); err != nil {
				return nil, err
			}
		}
		w.raw(e.Description)
		for _, s := range []string{e.Environment, e.Model, e.Action, e.FromVersion, e.ToVersion, e.Strategy, e.Forced, e.Rollback, e.RequestedBy} {
			w.str(s)
		}
		w.list(e.ApprovedBy)
		w.str(e.MergedBy)
		w.str(e.Policy)
		w.varint(int64(e.PullRequest))
		w.raw(e.CheckedHead)
		w.str(e.Via)
		for _, s := range []string{e.Commit, e.ChangeCommit, e.Reverts, e.Subject} {
			w.raw(s)
		}
		w.sig(&e.Signature)
		if e.ChangeSignature == nil {
			w.body = append(w.body, 0)
		} else {
			w.body = append(w.body, 1)
			w.sig(e.ChangeSignature)
		}
		w.n(e.Notes == nil, len(e.Notes))
		for _, s := range e.Notes {
			w.raw(s)
		}
		w.varint(int64(c.From[i]))
		w.varint(int64(c.To[i]))
	}
	size := binary.MaxVarintLen64 + len(w.body)
	for _, s := range w.strings {
		size += binary.MaxVarintLen64 + len(s)
	}
	out := make([]byte, 0, size)
	out = binary.AppendUvarint(out, uint64(len(w.strings)))
	for _, s := range w.strings {
		out = binary.AppendUvarint(out, uint64(len(s)))
		out = append(out, s...)
	}
	return append(out, w.body...), nil
}

var errBadChunk = errors.New("damaged chunk")

// chunkReader reads a chunk's bytes; the first error sticks, and every
// read after it returns zero values.
type chunkReader struct {
	b       []byte
	strings []string
	err     error
}

func (r *chunkReader) fail() { r.err = errBadChunk; r.b = nil }

func (r *chunkReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *chunkReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// int reads a varint that must fit an int.
func (r *chunkReader) int() int {
	v := r.varint()
	if int64(int(v)) != v {
		r.fail()
		return 0
	}
	return int(v)
}

// count reads a number of things each at least min bytes long: no more
// than the bytes left can hold, so a damaged count allocates nothing.
func (r *chunkReader) count(min int) int {
	n := r.uvarint()
	if n > uint64(len(r.b)/min) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *chunkReader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *chunkReader) flag() bool {
	switch r.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail()
	return false
}

func (r *chunkReader) raw() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *chunkReader) str() string {
	i := r.uvarint()
	if i >= uint64(len(r.strings)) {
		r.fail()
		return ""
	}
	return r.strings[i]
}

// n reads what chunkWriter.n wrote, for things each at least min bytes
// long: nil reads as -1.
func (r *chunkReader) n(min int) int {
	n := r.uvarint()
	if n == 0 {
		return -1
	}
	if n-1 > uint64(len(r.b)/min) {
		r.fail()
		return -1
	}
	return int(n - 1)
}

func (r *chunkReader) list() []string {
	n := r.n(1)
	if n < 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.str()
	}
	return out
}

func (r *chunkReader) time() time.Time {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return time.Time{}
	}
	var t time.Time
	if err := t.UnmarshalBinary(r.b[:n]); err != nil {
		r.fail()
		return time.Time{}
	}
	r.b = r.b[n:]
	return t
}

func (r *chunkReader) sig() gitops.SignatureInfo {
	flags := r.byte()
	if flags > 3 {
		r.fail()
	}
	return gitops.SignatureInfo{Signed: flags&1 != 0, Trusted: flags&2 != 0, Format: r.str(), Signer: r.str(), Key: r.str(), Reason: r.str(), Committer: r.str()}
}

// unmarshalChunk decodes what marshalChunk encoded; false when raw does
// not hold together (every byte used, every index in range).
func unmarshalChunk(raw []byte) (cacheChunk, bool) {
	r := &chunkReader{b: raw}
	r.strings = make([]string, r.count(1))
	for i := range r.strings {
		n := r.uvarint()
		if n > uint64(len(r.b)) {
			r.fail()
			break
		}
		r.strings[i] = string(r.b[:n])
		r.b = r.b[n:]
	}
	var c cacheChunk
	c.Releases = make([]cachedRelease, r.count(4))
	for i := range c.Releases {
		rel := cachedRelease{Strategy: r.str(), Match: r.str(), Error: r.str()}
		if n := r.n(8); n >= 0 {
			rel.Versions = make([]cachedVersion, n)
		}
		for j := range rel.Versions {
			rel.Versions[j] = cachedVersion{
				Version: manifests.Version{Major: r.int(), Minor: r.int(), Patch: r.int(), Data: r.int()},
				Digest:  r.str(), Weight: r.int(), Role: r.str(), StorageURI: r.str(),
			}
		}
		c.Releases[i] = rel
	}
	n := r.count(40)
	c.Events, c.From, c.To = make([]cachedEvent, n), make([]int, n), make([]int, n)
	for i := range c.Events {
		e := &c.Events[i]
		e.Time = r.time()
		if r.flag() {
			t := r.time()
			e.CommitterTime = &t
		}
		e.Description = r.raw()
		for _, s := range []*string{&e.Environment, &e.Model, &e.Action, &e.FromVersion, &e.ToVersion, &e.Strategy, &e.Forced, &e.Rollback, &e.RequestedBy} {
			*s = r.str()
		}
		e.ApprovedBy = r.list()
		e.MergedBy, e.Policy, e.PullRequest = r.str(), r.str(), r.int()
		e.CheckedHead, e.Via = r.raw(), r.str()
		for _, s := range []*string{&e.Commit, &e.ChangeCommit, &e.Reverts, &e.Subject} {
			*s = r.raw()
		}
		e.Signature = r.sig()
		if r.flag() {
			s := r.sig()
			e.ChangeSignature = &s
		}
		if n := r.n(1); n >= 0 {
			e.Notes = make([]string, n)
			for k := range e.Notes {
				e.Notes[k] = r.raw()
			}
		}
		c.From[i], c.To[i] = r.int(), r.int()
		if r.err != nil {
			break
		}
	}
	if r.err != nil || len(r.b) != 0 {
		return cacheChunk{}, false
	}
	return c, true
}
