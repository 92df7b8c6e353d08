package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/modelgit/modelgit/manifests"
)

// defaultBuf is the read size of a pass, the same 1 MiB that modelgit's
// hasher reads with.
const defaultBuf = 1 << 20

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it parses args, hashes, writes
// "<hex>  <path>" lines to stdout and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sha256pass", flag.ContinueOnError)
	fs.SetOutput(stderr)
	parallel := fs.Bool("parallel", false, "hash several files at once")
	workers := fs.Int("workers", 0, "files hashed at once with -parallel (default GOMAXPROCS)")
	buf := fs.Int("buf", defaultBuf, "read size in bytes")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sha256pass [-parallel] [-workers N] [-buf BYTES] FILE...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 || *buf <= 0 || *workers < 0 {
		fs.Usage()
		return 2
	}
	n := 1
	if *parallel {
		n = *workers
		if n == 0 {
			n = runtime.GOMAXPROCS(0)
		}
	}
	results := hashAll(fs.Args(), n, *buf)
	code := 0
	for i, r := range results {
		if r.err != nil {
			fmt.Fprintf(stderr, "sha256pass: %v\n", r.err)
			code = 1
			continue
		}
		fmt.Fprintf(stdout, "%s  %s\n", r.digest.Hex(), fs.Arg(i))
	}
	return code
}

// result is the outcome of hashing one file.
type result struct {
	digest manifests.Digest
	size   int64
	err    error
}

// hashAll hashes paths with up to workers at once and returns the results
// in the order of paths.
func hashAll(paths []string, workers, buf int) []result {
	results := make([]result, len(paths))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(paths)) {
		wg.Go(func() {
			for i := range next {
				results[i] = hashFile(paths[i], buf)
			}
		})
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

// hashFile hashes one file, reading it buf bytes at a time.
func hashFile(path string, buf int) result {
	f, err := os.Open(path)
	if err != nil {
		return result{err: fmt.Errorf("opening %q: %w", path, unwrap(err))}
	}
	defer f.Close()
	// readerOnly hides *os.File's WriteTo, which would copy in io.Copy's
	// 32 KiB chunks; bufio then reads buf bytes per system call.
	d, n, err := manifests.SHA256(bufio.NewReaderSize(readerOnly{f}, buf))
	if err != nil {
		return result{err: fmt.Errorf("reading %q: %w", path, unwrap(err))}
	}
	return result{digest: d, size: n}
}

// readerOnly exposes only the Read method of what it wraps.
type readerOnly struct{ io.Reader }

// unwrap drops the op and path of an *os.PathError, which messages name.
func unwrap(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
