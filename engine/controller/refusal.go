package controller

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Refusal is a protocol outcome of a change the controller will not make:
// a Kafka error code and the message Kafka sends with it (nil for none).
// It is not a Go error: the request is answered with it, per resource.
type Refusal struct {
	Code int16
	Msg  *string
}

// Refuse words a refusal as Kafka's ApiError(code, message).
func Refuse(e *kerr.Error, format string, args ...any) *Refusal {
	msg := fmt.Sprintf(format, args...)
	return &Refusal{Code: e.Code, Msg: &msg}
}

// RefuseDefault carries the code's own message, as Kafka's
// ApiError(Errors).
func RefuseDefault(e *kerr.Error) *Refusal { return Refuse(e, "%s", e.Description) }

// RefuseCode is a code without a message, as Kafka's exceptions made
// without one.
func RefuseCode(e *kerr.Error) *Refusal { return &Refusal{Code: e.Code} }

// Message is the refusal's message, or "".
func (r *Refusal) Message() string {
	if r.Msg == nil {
		return ""
	}
	return *r.Msg
}

// MaxRecordsPerChange bounds one change, as KRaft's MAX_RECORDS_PER_USER_OP.
const MaxRecordsPerChange = 10000

// tooLarge refuses a change over MaxRecordsPerChange.
func tooLarge() *Refusal {
	return Refuse(kerr.PolicyViolation, "Unable to perform excessively large batch operation.")
}
