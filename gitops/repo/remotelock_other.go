//go:build !unix

package repo

import "sync"

// remoteMu stands in for flock(2) where it is missing: it serialises
// fetches and pushes within this process only.
var remoteMu sync.Mutex

// lockRemote serialises go-git's fetches and pushes and updateRef (see
// the unix version); here only within the process.
func (r *Repo) lockRemote() (unlock func(), err error) {
	remoteMu.Lock()
	return remoteMu.Unlock, nil
}
