package tools

// Produce runs `weir produce`. (Placeholder until it is written.)
func Produce(args []string, io IO) int {
	return failure(command{name: "produce"}, io, "not built yet")
}
