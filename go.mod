module github.com/otelcol-gaudi/otelcol-gaudi

go 1.26.0
