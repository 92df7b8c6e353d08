// Package e2e holds modelgit's end-to-end test against real parts: etcd,
// kube-apiserver, Flux's source-controller and kustomize-controller, and a
// git HTTPS server, all on 127.0.0.1, driven through the real modelgit CLI
// and the in-process GitHub fake. The test is in the _test.go files; run it
// with `cd e2e && go test ./...` (../scripts/test.sh does).
package e2e
