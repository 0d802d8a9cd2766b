package tools

// Group runs `weir group`. (Placeholder until it is written.)
func Group(args []string, io IO) int {
	return failure(command{name: "group"}, io, "not built yet")
}
