package tools

// Consume runs `weir consume`. (Placeholder until it is written.)
func Consume(args []string, io IO) int {
	return failure(command{name: "consume"}, io, "not built yet")
}
