// Package app is the modelgit command line: Main, the root command and one
// file per command (NewCmdXxx + XxxOptions + xxxRun). Commands are thin:
// they parse flags, call the library and print through cmdutil.IOStreams.
package app
