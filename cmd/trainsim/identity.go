package main

import (
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// identity is who a rank is and which HPU it uses; it becomes the rank's OTel resource.
type identity struct {
	serviceName string
	jobID       string
	host        string
	rank        int
	localRank   int
	worldSize   int
	moduleID    int // -1: unknown
	hpuIndex    int // -1: unknown
}

// identities returns the identity of every local rank of c on host.
func identities(c config, host string) []identity {
	ids := make([]identity, c.ranks)
	for i := range ids {
		ids[i] = identity{
			serviceName: c.serviceName,
			jobID:       c.jobID,
			host:        host,
			rank:        c.nodeRank*c.ranks + i,
			localRank:   i,
			worldSize:   c.worldSize,
			moduleID:    -1,
			hpuIndex:    -1,
		}
		if len(c.modules) > 0 {
			ids[i].moduleID = c.modules[i]
		}
		if len(c.hpuIndexes) > 0 {
			ids[i].hpuIndex = c.hpuIndexes[i]
		}
	}
	return ids
}

// resource is the rank's resource: exactly the contract's attributes. The SDK's defaults
// (telemetry.sdk.*) are left out on purpose, since with resource_to_telemetry_conversion
// every resource attribute becomes a label on every series.
func (id identity) resource() *resource.Resource {
	attrs := []attribute.KeyValue{
		semconv.ServiceName(id.serviceName),
		// Unique per rank, so that ranks never collapse into one series even where resource
		// attributes are not turned into labels (the exporter's job/instance labels).
		semconv.ServiceInstanceID(id.instanceID()),
		semconv.HostName(id.host),
		attrJobID.String(id.jobID),
		attrRank.Int(id.rank),
		attrLocalRank.Int(id.localRank),
		attrWorldSize.Int(id.worldSize),
	}
	if id.moduleID >= 0 {
		attrs = append(attrs, attrHPUModuleID.Int(id.moduleID))
	}
	if id.hpuIndex >= 0 {
		attrs = append(attrs, attrHPUIndex.Int(id.hpuIndex))
	}
	return resource.NewWithAttributes(semconv.SchemaURL, attrs...)
}

// instanceID is service.instance.id: the job id and the global rank.
func (id identity) instanceID() string {
	return fmt.Sprintf("%s/rank-%d", id.jobID, id.rank)
}
