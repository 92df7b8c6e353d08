package action_test

import (
	"os"
	"testing"

	"github.com/modelgit/modelgit/cmd/modelgit/app"
)

// cliEnv makes this test binary run as the modelgit command: the stories
// run the real CLI in a child process, through the action's own script,
// without building a second binary.
const cliEnv = "MODELGIT_ACTION_TEST_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(cliEnv) == "1" {
		os.Exit(int(app.Main()))
	}
	os.Exit(m.Run())
}
