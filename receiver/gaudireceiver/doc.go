// Package gaudireceiver scrapes Intel Gaudi (HPU) device telemetry into OpenTelemetry metrics.
package gaudireceiver

//go:generate go run ../../internal/tools/mdgen
