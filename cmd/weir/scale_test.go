package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// scalePartitions is how many partitions TestManyPartitions makes: 2,000
// in make test, WEIR_SCALE_PARTITIONS=10000 in make test-scale.
func scalePartitions() int {
	if n, err := strconv.Atoi(os.Getenv("WEIR_SCALE_PARTITIONS")); err == nil && n > 0 {
		return n
	}
	return 2000
}

// procStatus reads a field of /proc/<pid>/status in kB.
func procStatus(t *testing.T, pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(v)
			n, _ := strconv.ParseInt(f[0], 10, 64)
			return n << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

func openFiles(t *testing.T, pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// diskUsage is the blocks every file under dir holds (du).
func diskUsage(t *testing.T, dir string) int64 {
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		n += fi.Sys().(*syscall.Stat_t).Blocks * 512
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestManyPartitions: thousands of partitions on one node (100 per topic)
// are created, hold little memory, few files and almost no disk while
// idle, take a record each and give it back, and come back after a clean
// stop and after SIGKILL. The limits for 10,000 partitions are
// checked scaled to the count: creation under 60 s, resident memory under
// 4 GiB, idle disk under 1 GiB (100 KiB a partition), restarts under 30 s.
func TestManyPartitions(t *testing.T) {
	n := scalePartitions()
	const perTopic = 100
	topics := (n + perTopic - 1) / perTopic
	dir := t.TempDir()
	port := freePort(t)
	opts := brokerOpts{io: "uring", logDir: dir, port: port}
	b := startBroker(t, opts)
	rssBefore, fdsBefore := procStatus(t, b.pid(), "VmRSS"), openFiles(t, b.pid())

	cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.RequestTimeoutOverhead(2*time.Minute),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var names []string
	for i := 0; i < topics; i++ {
		names = append(names, fmt.Sprintf("scale-%03d", i))
	}
	start := time.Now()
	for i := 0; i < len(names); i += 10 { // 10 topics of 100 per request: under KRaft's 10,000 records per change
		resp, err := adm.CreateTopics(ctx, perTopic, 1, nil, names[i:min(i+10, len(names))]...)
		if err != nil {
			t.Fatal(err)
		}
		if err := resp.Error(); err != nil {
			t.Fatal(err)
		}
	}
	created := time.Since(start)
	pid := b.pid()
	rss, fds, disk := procStatus(t, pid, "VmRSS"), openFiles(t, pid), diskUsage(t, dir)
	t.Logf("%d partitions created in %v: RSS %d MiB (%.1f KiB a partition), %d open files (%.2f a partition), disk %d MiB (%.1f KiB a partition)",
		n, created.Round(time.Millisecond), rss>>20, float64(rss-rssBefore)/1024/float64(n), fds,
		float64(fds-fdsBefore)/float64(n), disk>>20, float64(disk)/1024/float64(n))
	if limit := 60 * time.Second; created > limit {
		t.Errorf("creating %d partitions took %v, over %v", n, created, limit)
	}
	if rss > 4<<30 {
		t.Errorf("RSS %d MiB over 4 GiB", rss>>20)
	}
	if perPartition := disk / int64(n); perPartition > 100<<10 {
		t.Errorf("idle partitions hold %d KiB of disk each, over 100 KiB", perPartition>>10)
	}

	// A record to every partition, and each back.
	start = time.Now()
	var recs []*kgo.Record
	for _, name := range names {
		for p := int32(0); p < perTopic; p++ {
			recs = append(recs, &kgo.Record{Topic: name, Partition: p, Value: []byte(name + "/" + strconv.Itoa(int(p)))})
		}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce to every partition: %v", err)
	}
	produced := time.Since(start)
	checkOnePerPartition(t, b.addr, names, perTopic)
	pid = b.pid()
	t.Logf("a record to each partition in %v and back; then RSS %d MiB, %d open files, disk %d MiB",
		produced.Round(time.Millisecond), procStatus(t, pid, "VmRSS")>>20, openFiles(t, pid), diskUsage(t, dir)>>20)
	cl.Close()

	for _, how := range []string{"clean stop", "SIGKILL"} {
		if how == "SIGKILL" {
			syscall.Kill(b.pid(), syscall.SIGKILL)
			<-b.done
		} else if code, took := b.stop(); code != 0 {
			t.Fatalf("stop exited %d", code)
		} else {
			t.Logf("clean stop took %v", took.Round(time.Millisecond))
		}
		start = time.Now()
		b = startBroker(t, opts)
		took := time.Since(start)
		t.Logf("restart after %s: serving in %v, %d log lines", how, took.Round(time.Millisecond),
			strings.Count(b.stderr.String(), "\n"))
		if took > 30*time.Second {
			t.Errorf("restart after %s took %v, over 30 s", how, took)
		}
		if lines := strings.Count(b.stderr.String(), "\n"); lines > 50 {
			t.Errorf("restart after %s wrote %d log lines: not one per partition, please", how, lines)
		}
		checkOnePerPartition(t, b.addr, names, perTopic)
	}
}

// checkOnePerPartition reads every partition and expects exactly its one
// record.
func checkOnePerPartition(t *testing.T, addr string, names []string, perTopic int32) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(names...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxPartitionBytes(1<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	want := len(names) * int(perTopic)
	seen := map[string]bool{}
	for len(seen) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records back", len(seen), want)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			v := r.Topic + "/" + strconv.Itoa(int(r.Partition))
			if string(r.Value) != v || r.Offset != 0 || seen[v] {
				t.Fatalf("%s-%d offset %d holds %q", r.Topic, r.Partition, r.Offset, r.Value)
			}
			seen[v] = true
		})
	}
}
