package controller

import (
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore/metalog"
)

// Registration is a BrokerRegistration request (API 62, KIP-631).
type Registration struct {
	BrokerID            int32
	ClusterID           string
	IncarnationID       [16]byte
	Listeners           []metadata.BrokerEndpoint
	Features            []metadata.BrokerFeature
	Rack                *string
	IsMigratingZkBroker bool
	LogDirs             []metalog.UUID
	PreviousBrokerEpoch int64 // for unclean-shutdown detection with ELR; unused before it
}

// RegistrationPlan is an accepted registration: its one RegisterBrokerRecord,
// the broker epoch to answer, and the broker's session once committed.
type RegistrationPlan struct {
	Records []metadata.Record
	Epoch   int64
	Session Session
}

// minMetadataVersion is what a broker that names no metadata.version range
// is taken to support: Kafka 4's lowest, 3.3-IV3.
const minMetadataVersion = metalog.MetadataVersion

// PlanRegistration decides a broker registration as Kafka's
// ClusterControlManager.registerBroker does, in its order:
//   - another cluster id: INCONSISTENT_CLUSTER_ID;
//   - the id registered by another incarnation whose session is still
//     valid (unfenced, heard from within the session timeout):
//     DUPLICATE_BROKER_REGISTRATION;
//   - a ZooKeeper broker in migration: BROKER_ID_NOT_REGISTERED;
//   - a finalized feature level outside the broker's range (a broker that
//     names no metadata.version supports only 3.3-IV3): UNSUPPORTED_VERSION.
//
// A new incarnation gets newEpoch (the offset its record will have: the
// caller's next metadata offset) and starts fenced; it is unfenced by a
// heartbeat once it has caught up. The same incarnation registering again
// amends its registration and keeps its epoch and state. The record's
// version is what metadata.version 3.3-IV3 writes (v1). Directory checks
// (metadata.version 3.7-IV2) do not apply to Weir's logs.
func PlanRegistration(im *metadata.Image, s *Sessions, req Registration, newEpoch int64,
	now time.Time) (*RegistrationPlan, *Refusal) {
	if req.ClusterID != im.ClusterID {
		return nil, Refuse(kerr.InconsistentClusterID, "Expected cluster ID %s, but got cluster ID %s",
			im.ClusterID, req.ClusterID)
	}
	existing, registered := im.Broker(req.BrokerID)
	sameIncarnation := registered && existing.IncarnationID == req.IncarnationID
	if registered && s.valid(existing, now) && !sameIncarnation {
		return nil, Refuse(kerr.DuplicateBrokerRegistration, "Another broker is registered with that broker id.")
	}
	if req.IsMigratingZkBroker {
		return nil, Refuse(kerr.BrokerIDNotRegistered, "Controller does not support registering ZK brokers.")
	}
	features, r := checkFeatures(im, req.Features)
	if r != nil {
		return nil, r
	}
	rec := metadata.RegisterBrokerRecord{BrokerID: req.BrokerID, IncarnationID: req.IncarnationID,
		BrokerEpoch: newEpoch, EndPoints: slices.Clone(req.Listeners), Features: features, Rack: req.Rack,
		Fenced: true}
	session := Session{LastContact: now, MetadataOffset: -1, RegisteredOffset: newEpoch, ShutdownOffset: -1}
	if sameIncarnation {
		rec.BrokerEpoch, rec.Fenced, rec.InControlledShutdown = existing.Epoch, existing.Fenced, existing.InControlledShutdown
		if old, ok := s.Get(req.BrokerID); ok {
			session.MetadataOffset, session.ShutdownOffset = old.MetadataOffset, old.ShutdownOffset
		}
	}
	return &RegistrationPlan{Records: []metadata.Record{rec}, Epoch: rec.BrokerEpoch, Session: session}, nil
}

// checkFeatures is Kafka's processRegistrationFeature over the broker's
// features and the finalized ones: every finalized level (metadata.version
// defaulting to 1, others to 0) must be in the broker's range, a feature
// the broker does not name counts as [0, 0], and metadata.version as
// [minMetadataVersion, minMetadataVersion]. It returns the features to
// record.
func checkFeatures(im *metadata.Image, sent []metadata.BrokerFeature) ([]metadata.BrokerFeature, *Refusal) {
	check := func(f metadata.BrokerFeature) *Refusal {
		level := im.FeatureLevel(f.Name)
		if level == 0 && f.Name == metalog.MetadataVersionFeature {
			level = 1
		}
		if level < f.MinSupportedVersion || level > f.MaxSupportedVersion {
			return Refuse(kerr.UnsupportedVersion, "Unable to register because the broker does not support "+
				"finalized version %d of %s. The broker wants a version between %d and %d, inclusive.",
				level, f.Name, f.MinSupportedVersion, f.MaxSupportedVersion)
		}
		return nil
	}
	out := slices.Clone(sent)
	for _, f := range sent {
		if r := check(f); r != nil {
			return nil, r
		}
	}
	named := func(name string) bool {
		return slices.ContainsFunc(sent, func(f metadata.BrokerFeature) bool { return f.Name == name })
	}
	if !named(metalog.MetadataVersionFeature) {
		f := metadata.BrokerFeature{Name: metalog.MetadataVersionFeature,
			MinSupportedVersion: minMetadataVersion, MaxSupportedVersion: minMetadataVersion}
		if r := check(f); r != nil {
			return nil, r
		}
		out = append(out, f)
	}
	for _, name := range im.FeatureNames() {
		if !named(name) && name != metalog.MetadataVersionFeature {
			if r := check(metadata.BrokerFeature{Name: name}); r != nil {
				return nil, r
			}
		}
	}
	return out, nil
}
