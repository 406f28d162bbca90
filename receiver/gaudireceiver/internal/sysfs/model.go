package sysfs

// product is a device_type together with the PCI device id.
type product struct{ deviceType, pciDevice string }

// productNames are the product names hl-smi and HLML report, for the SKUs whose PCI device id
// the reference documents, so that hpu.model reads the same whichever source is used.
var productNames = map[product]string{
	{"GAUDI2", "0x1020"}: "HL-225",
	{"GAUDI2", "0x1021"}: "HL-288",
	{"GAUDI3", "0x1060"}: "HL-325L",
	{"GAUDI3", "0x1063"}: "HL-338",
}

// generationNames name the other devices by the generation the driver's device_type gives.
var generationNames = map[string]string{
	"GOYA":              "Goya",
	"GAUDI":             "Gaudi",
	"GAUDI2":            "Gaudi 2",
	"GAUDI2B":           "Gaudi 2B",
	"GAUDI2C":           "Gaudi 2C",
	"GAUDI3":            "Gaudi 3",
	"GAUDI3 Single die": "Gaudi 3 single die",
}

// modelName is the product name when known, else the generation, else device_type as is.
func modelName(deviceType, pciDevice string) string {
	if name, ok := productNames[product{deviceType, pciDevice}]; ok {
		return name
	}
	if name, ok := generationNames[deviceType]; ok {
		return name
	}
	return deviceType
}
