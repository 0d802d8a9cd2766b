package bench

import "time"

// Result is one scenario run against one target.
type Result struct {
	Scenario string `json:"scenario"` // produce, consume, e2e
	Target   string `json:"target"`   // weir-uring, kfake, a peer's name
	Label    string `json:"label"`    // what was varied, e.g. "1KiB json batch=1MiB lz4 acks=1"

	Records   int64         `json:"records"`
	Bytes     int64         `json:"bytes"`      // key+value bytes, before compression
	WireBytes int64         `json:"wire_bytes"` // record-batch bytes as sent or fetched, after compression
	Elapsed   time.Duration `json:"elapsed_ns"`
	Errors    int64         `json:"errors"`
	FirstErr  string        `json:"first_error,omitempty"`

	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`      // of Bytes, 1 MB = 1e6 bytes
	WireMBPerSec  float64 `json:"wire_mb_per_sec"` // of WireBytes

	Latency    *Latency `json:"produce_latency,omitempty"` // send to acknowledgement
	E2E        *Latency `json:"e2e_latency,omitempty"`     // send to consume
	TargetRate float64  `json:"target_rate,omitempty"`     // records/s asked for; 0 = as fast as possible

	BrokerCPU      float64 `json:"broker_cpu_s"`        // -1 when the broker's pid is unknown
	BrokerCPUPerGB float64 `json:"broker_cpu_s_per_gb"` // per 1e9 Bytes; -1 when unknown
	ClientCPU      float64 `json:"client_cpu_s"`
	// A cluster's nodes apart (Target.NodePIDs): CPU seconds and per GB,
	// by node, -1 when unknown; their sums are BrokerCPU and BrokerCPUPerGB.
	NodeCPU      []float64 `json:"node_cpu_s,omitempty"`
	NodeCPUPerGB []float64 `json:"node_cpu_s_per_gb,omitempty"`

	Cell       *Cell          `json:"cell,omitempty"` // a matrix run's coordinates
	Partitions []PartitionSum `json:"partitions,omitempty"`
	Verified   string         `json:"verified,omitempty"` // what the delivery check compared, when it ran
}

// finish fills the rates from the counts, the elapsed time and the CPU.
func (r *Result) finish(brokerCPU, clientCPU float64) {
	secs := r.Elapsed.Seconds()
	if secs > 0 {
		r.RecordsPerSec = float64(r.Records) / secs
		r.MBPerSec = float64(r.Bytes) / secs / 1e6
		r.WireMBPerSec = float64(r.WireBytes) / secs / 1e6
	}
	r.BrokerCPU, r.ClientCPU = brokerCPU, clientCPU
	r.BrokerCPUPerGB = -1
	if brokerCPU >= 0 && r.Bytes > 0 {
		r.BrokerCPUPerGB = brokerCPU / (float64(r.Bytes) / 1e9)
	}
}

// finishCPU is finish with the CPU a meter measured, each node's apart
// when it metered a cluster's.
func (r *Result) finishCPU(m *cpuMeter) {
	r.finish(m.stop())
	if len(m.pids) < 2 {
		return
	}
	r.NodeCPU, r.NodeCPUPerGB = m.broker, make([]float64, len(m.broker))
	for i, c := range m.broker {
		r.NodeCPUPerGB[i] = -1
		if c >= 0 && r.Bytes > 0 {
			r.NodeCPUPerGB[i] = c / (float64(r.Bytes) / 1e9)
		}
	}
}

// Cell is where a matrix run sits in the grid.
type Cell struct {
	RecordSize int    `json:"record_size"`
	Payload    string `json:"payload"`
	Batch      int    `json:"batch_max_bytes"`
	Codec      string `json:"codec"`
}
