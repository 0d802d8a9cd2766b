package tools

// Config runs `weir config`. (Placeholder until it is written.)
func Config(args []string, io IO) int {
	return failure(command{name: "config"}, io, "not built yet")
}
