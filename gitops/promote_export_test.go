package gitops

// SetBeforePushForTest makes fn run just before each push of a promotion
// branch until the returned function restores the previous hook. Tests
// that set it must not run in parallel with other promotions.
func SetBeforePushForTest(fn func(branch string, attempt int)) (restore func()) {
	prev := beforePush
	beforePush = fn
	return func() { beforePush = prev }
}
