package forge

// MergeRefusal exposes mergeRefusal to the tests of package forge_test.
var MergeRefusal = mergeRefusal
