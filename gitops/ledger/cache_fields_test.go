package ledger

import (
	"reflect"
	"testing"

	"github.com/modelgit/modelgit/manifests"
)

// TestCachedEventHasEveryField: a field added to AuditEvent or to a
// released version must be added to the cache's copy too (and
// auditCacheVersion raised).
func TestCachedEventHasEveryField(t *testing.T) {
	event, cached := reflect.TypeFor[AuditEvent]().NumField(), reflect.TypeFor[cachedEvent]().NumField()
	version, cachedV := reflect.TypeFor[manifests.ReleasedVersion]().NumField(), reflect.TypeFor[cachedVersion]().NumField()
	if cached != event-2 {
		t.Errorf("AuditEvent has %d fields, the cache's copy %d (+ From and To): update cachedEvent in audit_cache.go and auditCacheVersion", event, cached)
	}
	if cachedV != version {
		t.Errorf("manifests.ReleasedVersion has %d fields, the cache's copy %d: update cachedVersion in audit_cache.go and auditCacheVersion", version, cachedV)
	}
}
