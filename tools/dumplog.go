package tools

// DumpLog runs `weir dump-log`. (Placeholder until it is written.)
func DumpLog(args []string, io IO) int {
	return failure(command{name: "dump-log"}, io, "not built yet")
}
