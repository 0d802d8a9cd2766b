package bench

import (
	"fmt"
	"io"
)

// Main runs `weir bench`. (Placeholder until it is written.)
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "weir bench: not built yet")
	return 1
}
