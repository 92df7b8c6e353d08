package ledger

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/modelgit/modelgit/gitops/internal/durable"
	"github.com/modelgit/modelgit/gitops/store"
	"github.com/modelgit/modelgit/manifests"
)

// The audit cache file (auditCacheVersion 7) is
//
//	auditCacheMagic
//	the chunks: each the gob of a cacheChunk, where the index says
//	the index: the gob of a cacheIndex
//	the trailer: the index's offset and length (8 bytes each, big
//	endian), then its sha256 (a manifests.Digest's text)
//
// The index comes last so that the chunks can be written as they are
// encoded, without holding them; a read reads the trailer and the index
// only, and each chunk when it is decoded, checking its sha256 then. A
// file that is missing, truncated, damaged or of another version reads as
// empty (the history is scanned again); so does a chunk whose bytes are
// not those its sum names, never as other events.

// auditCacheMagic starts the file.
const auditCacheMagic = "modelgit audit-cache\n"

// cacheIndex is what the file holds besides the chunks' bytes.
type cacheIndex struct {
	Version  int
	Branches map[string]*auditCacheBranch
}

var (
	sumLen     = len(manifests.FromBytes(nil).String())
	trailerLen = 16 + sumLen
)

// cacheFile is an audit cache open for reading: its index, checked, and
// where its chunks are read from.
type cacheFile struct {
	index cacheIndex
	src   io.ReaderAt // nil when empty
	close func()
}

func emptyCacheFile() *cacheFile {
	return &cacheFile{index: cacheIndex{Version: auditCacheVersion, Branches: map[string]*auditCacheBranch{}}, close: func() {}}
}

// openAuditCache opens the cache file name and checks its index; a
// missing, damaged or outdated one reads as empty. Close it when done:
// the chunks are read from the file it opened, even after another
// process replaced the file.
func openAuditCache(name string) *cacheFile {
	f, fi, err := store.OpenRegular(name)
	if err != nil {
		return emptyCacheFile()
	}
	c, ok := readCacheIndex(f, fi.Size())
	if !ok {
		f.Close()
		return emptyCacheFile()
	}
	c.close = func() { f.Close() }
	return c
}

// readCacheIndex reads and checks the index of the cache of size bytes
// that src holds.
func readCacheIndex(src io.ReaderAt, size int64) (*cacheFile, bool) {
	head := int64(len(auditCacheMagic))
	if size < head+int64(trailerLen) {
		return nil, false
	}
	magic := make([]byte, head)
	trailer := make([]byte, trailerLen)
	if _, err := src.ReadAt(magic, 0); err != nil || string(magic) != auditCacheMagic {
		return nil, false
	}
	if _, err := src.ReadAt(trailer, size-int64(trailerLen)); err != nil {
		return nil, false
	}
	off, n := binary.BigEndian.Uint64(trailer[:8]), binary.BigEndian.Uint64(trailer[8:16])
	end := uint64(size) - uint64(trailerLen)
	if off < uint64(head) || off > end || n != end-off {
		return nil, false
	}
	raw := make([]byte, n)
	if _, err := src.ReadAt(raw, int64(off)); err != nil || manifests.FromBytes(raw).String() != string(trailer[16:]) {
		return nil, false
	}
	c := &cacheFile{src: src, close: func() {}}
	if err := gob.NewDecoder(bytes.NewReader(raw)).Decode(&c.index); err != nil || c.index.Version != auditCacheVersion || c.index.Branches == nil {
		return nil, false
	}
	for b, e := range c.index.Branches {
		if e == nil || len(e.Tip) != 40 || !chunksWithin(e.Chunks, head, int64(off)) {
			delete(c.index.Branches, b)
		}
	}
	return c, true
}

// chunksWithin says whether every chunk lies between from and to and
// holds events.
func chunksWithin(refs []chunkRef, from, to int64) bool {
	for _, ref := range refs {
		if ref.Offset < from || ref.Length <= 0 || ref.Offset > to-ref.Length || ref.Events <= 0 {
			return false
		}
	}
	return true
}

// events reads, checks and decodes one chunk, oldest first, into buf's
// space; false when its bytes are not those the index summed, or do not
// decode to as many events as it says.
func (c *cacheFile) events(ref chunkRef, buf *[]byte) ([]AuditEvent, bool) {
	if c.src == nil {
		return nil, false
	}
	if int64(cap(*buf)) < ref.Length {
		*buf = make([]byte, ref.Length)
	}
	raw := (*buf)[:ref.Length]
	if _, err := c.src.ReadAt(raw, ref.Offset); err != nil || manifests.FromBytes(raw).String() != ref.Sum {
		return nil, false
	}
	evs, ok := decodeChunk(raw)
	if !ok || len(evs) != ref.Events {
		return nil, false
	}
	return evs, true
}

// cacheWriter writes a new cache file: the chunks as they come (encoded
// now, or copied from the file being replaced), then the index. When the
// file cannot be written (a read-only clone) the chunks are kept in
// memory, so that the events can still be read back from them.
type cacheWriter struct {
	file  string
	tmp   *durable.Temp // nil: in memory
	mem   bytes.Buffer
	off   int64
	err   error // the first write error: the file is not written
	index cacheIndex
}

// newCacheWriter starts a new cache file, to replace file; in memory
// when inMemory, or when the file cannot be written (err says why).
func newCacheWriter(file string, inMemory bool) (w *cacheWriter, err error) {
	w = &cacheWriter{file: file, index: cacheIndex{Version: auditCacheVersion, Branches: map[string]*auditCacheBranch{}}}
	if !inMemory {
		dir := filepath.Dir(file)
		if err = os.MkdirAll(dir, 0o755); err == nil {
			w.tmp, err = durable.CreateTemp(dir, ".audit-cache-", 0)
		}
	}
	w.write([]byte(auditCacheMagic))
	return w, err
}

func (w *cacheWriter) write(b []byte) {
	if w.tmp != nil && w.err == nil {
		_, w.err = w.tmp.Write(b)
	} else if w.tmp == nil {
		w.mem.Write(b)
	}
	w.off += int64(len(b))
}

// addChunk writes one encoded chunk of n events, the first at first.
func (w *cacheWriter) addChunk(raw []byte, first time.Time, n int) chunkRef {
	ref := chunkRef{Offset: w.off, Length: int64(len(raw)), First: first, Events: n, Sum: manifests.FromBytes(raw).String()}
	w.write(raw)
	return ref
}

// copyChunk writes the bytes of a chunk of the file being replaced
// (read from src), unchanged; they are checked when decoded.
func (w *cacheWriter) copyChunk(src io.ReaderAt, ref chunkRef) chunkRef {
	out := ref
	out.Offset = w.off
	var err error
	switch {
	case w.tmp != nil && w.err == nil:
		_, err = io.Copy(w.tmp, io.NewSectionReader(src, ref.Offset, ref.Length))
	case w.tmp == nil:
		_, err = io.Copy(&w.mem, io.NewSectionReader(src, ref.Offset, ref.Length))
	}
	if err != nil && w.err == nil {
		w.err = err
	}
	w.off += ref.Length
	return out
}

// finish writes the index and the trailer, and commits the file
// (durably, temp then rename). It returns the cache just written, open
// for reading, whether or not the file could be committed (err says why
// not).
func (w *cacheWriter) finish() (*cacheFile, error) {
	var ib bytes.Buffer
	if err := gob.NewEncoder(&ib).Encode(&w.index); err != nil {
		w.discard()
		return nil, fmt.Errorf("encoding the audit cache: %w", err)
	}
	trailer := make([]byte, 16, trailerLen)
	binary.BigEndian.PutUint64(trailer[:8], uint64(w.off))
	binary.BigEndian.PutUint64(trailer[8:], uint64(ib.Len()))
	trailer = append(trailer, manifests.FromBytes(ib.Bytes()).String()...)
	w.write(ib.Bytes())
	w.write(trailer)
	c := &cacheFile{index: w.index, close: func() {}}
	if w.tmp == nil {
		c.src = bytes.NewReader(w.mem.Bytes())
		return c, nil
	}
	if w.err != nil {
		err := w.err
		w.discard()
		return nil, err
	}
	// A second descriptor on the temp file reads the chunks back after
	// the rename, whatever replaces the file since.
	f, err := os.Open(w.tmp.Name())
	if err != nil {
		w.discard()
		return nil, err
	}
	c.src, c.close = f, func() { f.Close() }
	return c, w.tmp.Commit(w.file, 0o644, nil)
}

func (w *cacheWriter) discard() {
	if w.tmp != nil {
		w.tmp.Discard()
	}
}
