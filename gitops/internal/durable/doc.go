// Package durable is modelgit's one durable write: a file is written to a
// temp file, fsynced, given its mode and renamed over its final name, and
// the directory is fsynced, so a crash at any moment leaves the old file or
// the new one under the name, never a part, and once a write returns the
// new file survives a power loss. It imports no modelgit package.
package durable
