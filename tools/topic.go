package tools

// Topic runs `weir topic`. (Placeholder until it is written.)
func Topic(args []string, io IO) int {
	return failure(command{name: "topic"}, io, "not built yet")
}
