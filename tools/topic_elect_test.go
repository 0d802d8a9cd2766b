package tools

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// An ElectLeaders answer printed as kafka-leader-election.sh prints it:
// elected, then already elected, failures on stderr with exit 1.
func TestReportElected(t *testing.T) {
	resp := kmsg.NewPtrElectLeadersResponse()
	msg := "The preferred leader was not available."
	resp.Topics = []kmsg.ElectLeadersResponseTopic{
		{Topic: "t", Partitions: []kmsg.ElectLeadersResponseTopicPartition{
			{Partition: 2, ErrorCode: kerr.PreferredLeaderNotAvailable.Code, ErrorMessage: &msg},
			{Partition: 1},
			{Partition: 0, ErrorCode: kerr.ElectionNotNeeded.Code}}},
		{Topic: "a", Partitions: []kmsg.ElectLeadersResponseTopicPartition{{Partition: 0}}},
	}
	var out, errOut bytes.Buffer
	a := newAdmin(topicElectCmd, IO{Out: &out, Err: &errOut})
	code := reportElected(a, "PREFERRED", electionResults(resp), false)
	want := "Successfully completed leader election (PREFERRED) for partitions a-0, t-1\n" +
		"Valid replica already elected for partitions t-0\n"
	wantErr := "weir topic elect-leaders: partition t-2: PREFERRED_LEADER_NOT_AVAILABLE: " +
		"The preferred leader was not available.\n"
	if code != exitFail || out.String() != want || errOut.String() != wantErr {
		t.Errorf("exit %d\nstdout %q\nwant   %q\nstderr %q\nwant   %q", code, out.String(), want, errOut.String(), wantErr)
	}

	out.Reset()
	a.out.format = "json"
	code = reportElected(a, "PREFERRED", electionResults(resp), false)
	var got []electedPartition
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	wantJSON := []electedPartition{{Topic: "a", Partition: 0, Elected: true}, {Topic: "t", Partition: 0},
		{Topic: "t", Partition: 1, Elected: true},
		{Topic: "t", Partition: 2, Error: "PREFERRED_LEADER_NOT_AVAILABLE: The preferred leader was not available."}}
	if code != exitFail || !reflect.DeepEqual(got, wantJSON) {
		t.Errorf("json: exit %d %+v", code, got)
	}

	// Every partition asked for and none needed an election.
	out.Reset()
	a.out.format = "table"
	if code := reportElected(a, "UNCLEAN", nil, true); code != exitOK ||
		out.String() != "No partition needed a leader election (UNCLEAN).\n" {
		t.Errorf("none: exit %d %q", code, out.String())
	}
}
