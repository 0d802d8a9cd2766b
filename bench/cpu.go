package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times; Linux
// fixes it at 100 for user space on every architecture Go supports.
const clockTicks = 100

// processCPU returns the user+system CPU time a process has used, read
// from /proc/<pid>/stat (fields 14 and 15).
func processCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	end := strings.LastIndexByte(string(data), ')')
	if end < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(data[end+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime %q %q", pid, f[11], f[12])
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// selfCPU returns this process's user+system CPU time (the clients').
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter measures the CPU the broker processes (those whose pids are
// known: one broker, or each node of a cluster) and the benchmark's own
// clients use over one run.
type cpuMeter struct {
	pids   []int
	start  []time.Duration // per pid; -1 when /proc could not be read
	self   time.Duration
	broker []float64 // per pid, as the last stop read them
}

func startCPU(pids ...int) *cpuMeter {
	m := &cpuMeter{self: selfCPU()}
	for _, pid := range pids {
		if pid <= 0 {
			continue
		}
		c, err := processCPU(pid)
		if err != nil {
			c = -1
		}
		m.pids, m.start = append(m.pids, pid), append(m.start, c)
	}
	return m
}

// stop returns the broker processes' CPU seconds since start, summed, and
// the clients'. The brokers' is -1 when no pid was given or any could not
// be read. Each process's share is kept in m.broker (-1 when unknown).
func (m *cpuMeter) stop() (broker, client float64) {
	client = (selfCPU() - m.self).Seconds()
	m.broker = make([]float64, len(m.pids))
	broker = -1
	if len(m.pids) > 0 {
		broker = 0
	}
	for i, pid := range m.pids {
		m.broker[i] = -1
		if m.start[i] >= 0 {
			if c, err := processCPU(pid); err == nil {
				m.broker[i] = (c - m.start[i]).Seconds()
			}
		}
		if m.broker[i] < 0 {
			broker = -1
		} else if broker >= 0 {
			broker += m.broker[i]
		}
	}
	return broker, client
}
