package dashboards

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// decode decodes a dashboard file into the SDK's model and checks it with the SDK's strict decoders.
//
// The model comes from the SDK's regular decoder, which types panel options, field configs and targets by
// the registered plugins. The strict decoders of v0.0.22 cannot build it: each returns its empty error list
// as a non-nil error, so the callers that assign after the error check (panels, targets, panel options)
// silently drop what they decoded. strictCheck therefore calls the strict decoder of every level itself.
func decode(raw []byte) (dashboard.Dashboard, error) {
	registerPlugins()
	var d dashboard.Dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, err
	}
	return d, strictCheck(raw)
}

// strictCheck reports, with their paths, unknown fields, wrongly typed values and missing required fields at
// every level the SDK models: the dashboard, its panels and rows, their field configs, options and targets.
func strictCheck(raw []byte) error {
	var errs []error
	add := func(path string, err error) {
		if err = failure(err); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
		}
	}
	add("dashboard", new(dashboard.Dashboard).UnmarshalJSONStrict(raw))
	var top struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(raw, &top); err != nil {
		return err
	}
	for i, p := range top.Panels {
		checkPanel(fmt.Sprintf("panels[%d]", i), p, add)
	}
	return errors.Join(errs...)
}

func checkPanel(path string, raw json.RawMessage, add func(string, error)) {
	var p struct {
		Type        string            `json:"type"`
		Panels      []json.RawMessage `json:"panels"`
		Options     json.RawMessage   `json:"options"`
		FieldConfig json.RawMessage   `json:"fieldConfig"`
		Datasource  *struct {
			Type string `json:"type"`
		} `json:"datasource"`
		Targets []json.RawMessage `json:"targets"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		add(path, err)
		return
	}
	if p.Type == "row" {
		add(path, new(dashboard.RowPanel).UnmarshalJSONStrict(raw))
		for i, c := range p.Panels {
			checkPanel(fmt.Sprintf("%s.panels[%d]", path, i), c, add)
		}
		return
	}
	add(path, new(dashboard.Panel).UnmarshalJSONStrict(raw))
	cfg, found := cog.ConfigForPanelcfgVariant(p.Type)
	if !found {
		add(path, fmt.Errorf("unknown panel type %q", p.Type))
		return
	}
	if p.Options != nil && cfg.StrictOptionsUnmarshaler != nil {
		_, err := cfg.StrictOptionsUnmarshaler(p.Options)
		add(path+".options", err)
	}
	if p.FieldConfig != nil {
		add(path+".fieldConfig", new(dashboard.FieldConfigSource).UnmarshalJSONStrict(p.FieldConfig))
		var fc struct {
			Defaults struct {
				Custom json.RawMessage `json:"custom"`
			} `json:"defaults"`
		}
		if err := json.Unmarshal(p.FieldConfig, &fc); err == nil && fc.Defaults.Custom != nil && cfg.StrictFieldConfigUnmarshaler != nil {
			_, err := cfg.StrictFieldConfigUnmarshaler(fc.Defaults.Custom)
			add(path+".fieldConfig.defaults.custom", err)
		}
	}
	hint := ""
	if p.Datasource != nil {
		hint = p.Datasource.Type
	}
	for i, t := range p.Targets {
		_, err := cog.StrictUnmarshalDataquery(t, hint)
		add(fmt.Sprintf("%s.targets[%d]", path, i), err)
	}
}

// failure is err, or nil for the SDK's empty error list.
func failure(err error) error {
	var be cog.BuildErrors
	if errors.As(err, &be) && len(be) == 0 {
		return nil
	}
	return err
}
