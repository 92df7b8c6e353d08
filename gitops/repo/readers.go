package repo

import (
	"context"
	"os/exec"
	"runtime"
	"sync"
)

// A command reads objects in many small rounds (the release files at a
// moment, the manifests of their versions, the commits that registered
// them, the policies along the history): `which` on a long history
// started nine `git cat-file` processes for them, each 7 ms of CPU to
// start and its own page faults over the pack, about a tenth of a cold
// `which`. The rounds take their process from the Repo's readers
// instead, and give it back: the processes are started without --buffer
// (git answers each question as it comes), so one can serve round after
// round with its input left open.

// maxIdleReaders bounds the processes a Repo keeps between rounds.
const maxIdleReaders = 4

// readerPool is a Repo's idle cat-file processes. It refers to no Repo,
// so that a Repo collected ends its processes (runtime.AddCleanup).
type readerPool struct {
	mu   sync.Mutex
	idle []*CatFile
}

// reader is a `git cat-file --batch` from r's readers, or a new one; it
// is killed when ctx ends while it is out. Close gives it back.
func (r *Repo) reader(ctx context.Context) (*CatFile, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.readersOnce.Do(func() {
		r.readers = &readerPool{}
		runtime.AddCleanup(r, (*readerPool).closeAll, r.readers)
	})
	p := r.readers
	p.mu.Lock()
	var c *CatFile
	if n := len(p.idle); n > 0 {
		c, p.idle = p.idle[n-1], p.idle[:n-1]
	}
	p.mu.Unlock()
	if c == nil {
		// Not tied to ctx (exec.CommandContext): it outlives the round.
		cmd, in, out, err := startPipedCmd(exec.Command("git", readingArgs("cat-file", "--batch")...), r.Root, "cat-file")
		if err != nil {
			return nil, err
		}
		c = newCatFile(cmd, in, out)
		c.pool = p
	}
	c.stop = context.AfterFunc(ctx, func() { _ = c.cmd.Process.Kill() })
	return c, nil
}

// put takes c back, unless its round failed, its context ended (it was
// killed), or enough are idle: those end.
func (p *readerPool) put(c *CatFile) {
	if c.stop() && !c.broken {
		p.mu.Lock()
		if len(p.idle) < maxIdleReaders {
			p.idle = append(p.idle, c)
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
	c.end()
}

// closeAll ends the idle processes.
func (p *readerPool) closeAll() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		c.end()
	}
}
