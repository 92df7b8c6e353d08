// Recovering an upload after a failure: how much the registry holds, a
// new session when it lost the old one, and giving up cleanly.

package store

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/modelgit/modelgit/manifests"
)

// recover finds out after a failure how much the registry holds and
// resumes from there; when it lost the session, it starts a new one,
// rewinding r.
func (u *upload) recover(ctx context.Context) error {
	if u.loc == nil {
		return nil // nothing started yet: step begins
	}
	if u.stream {
		return u.recoverStream(ctx)
	}
	if !u.mono {
		req, err := http.NewRequestWithContext(u.o.scoped(ctx, true), http.MethodGet, u.loc.String(), nil)
		if err != nil {
			return err
		}
		resp, err := u.o.upload.Do(req)
		if err != nil {
			return u.netError("checking upload status", err)
		}
		drain(resp)
		if resp.StatusCode == http.StatusNoContent {
			if end, ok := parseRange(resp.Header.Get("Range")); ok {
				have := end + 1
				if end == 0 && u.off == 0 {
					have = 0 // "0-0" also means empty
				}
				if have >= u.bufStart && have <= u.bufStart+int64(len(u.buf)) {
					if err := u.setLocation(resp); err == nil {
						u.off = have
						return nil
					}
				}
			}
		}
	}
	return u.restart()
}

// recoverStream resumes an interrupted streamed PUT in chunks, from what
// the registry holds: the bytes before that are read again from r only to
// hash them. When the registry lost the session, the upload restarts in
// chunks.
func (u *upload) recoverStream(ctx context.Context) error {
	u.stream = false
	have, err := u.status(ctx)
	if err != nil {
		return err
	}
	if have < 0 || have > u.size {
		return u.restart()
	}
	if _, err := u.seeker.Seek(u.start, io.SeekStart); err != nil {
		return fmt.Errorf("rewinding input: %w", err)
	}
	u.dg = manifests.NewDigester()
	if n, err := copyBuf(u.dg, io.LimitReader(u.r, have)); err != nil {
		return fmt.Errorf("reading: %w", err)
	} else if n != have {
		return u.mismatch()
	}
	u.off, u.bufStart, u.buf, u.eof = have, have, nil, false
	return nil
}

// status asks the registry how many bytes of the session it holds; -1
// means it lost the session.
func (u *upload) status(ctx context.Context) (int64, error) {
	req, err := http.NewRequestWithContext(u.o.scoped(ctx, true), http.MethodGet, u.loc.String(), nil)
	if err != nil {
		return 0, err
	}
	resp, err := u.o.upload.Do(req)
	if err != nil {
		return 0, u.netError("checking upload status", err)
	}
	drain(resp)
	if resp.StatusCode != http.StatusNoContent {
		return -1, nil
	}
	end, ok := parseRange(resp.Header.Get("Range"))
	if !ok {
		return -1, nil
	}
	if err := u.setLocation(resp); err != nil {
		return -1, nil
	}
	if end == 0 {
		// "0-0" is both "nothing" and "one byte": resend the first byte.
		return 0, nil
	}
	return end + 1, nil
}

// restart forgets the session; step opens a new one. r is rewound unless
// the whole blob is still in memory.
func (u *upload) restart() error {
	u.abort()
	u.loc, u.off = nil, 0
	if u.mono && u.eof && u.bufStart == 0 {
		return nil // the whole blob is in u.buf
	}
	if u.seeker == nil {
		return fmt.Errorf("the registry lost the interrupted upload and the input cannot be read again: run again")
	}
	if _, err := u.seeker.Seek(u.start, io.SeekStart); err != nil {
		return fmt.Errorf("rewinding input: %w", err)
	}
	u.dg = manifests.NewDigester()
	u.buf, u.bufStart, u.eof = nil, 0, false
	return nil
}

// abort cancels the session, best effort, so the registry can drop it.
func (u *upload) abort() {
	if u.loc == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(u.o.scoped(ctx, true), http.MethodDelete, u.loc.String(), nil)
	if err != nil {
		return
	}
	if resp, err := u.o.upload.Do(req); err == nil {
		drain(resp)
	}
}

// parseRange parses the "0-<end>" Range header of an upload status.
func parseRange(h string) (end int64, ok bool) {
	h = strings.TrimPrefix(strings.TrimSpace(h), "bytes=")
	from, to, found := strings.Cut(h, "-")
	if !found || from != "0" {
		return 0, false
	}
	end, err := strconv.ParseInt(to, 10, 64)
	if err != nil || end < 0 {
		return 0, false
	}
	return end, true
}
