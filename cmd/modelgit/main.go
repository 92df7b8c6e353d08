// Command modelgit makes Git the machine-learning model registry.
package main

import (
	"os"

	"github.com/modelgit/modelgit/cmd/modelgit/app"
)

func main() { os.Exit(int(app.Main())) }
