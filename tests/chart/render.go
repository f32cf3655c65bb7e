// Renders a Helm chart the way `helm template` does, for the chart tests on machines
// without helm: Go's text/template with sprig and helm's own functions (include, tpl,
// required, toYaml, fromYaml, lookup), helm's values (chart defaults coalesced under -f
// files, numbers as float64), .Files.Get, values.schema.json checked first, kubeVersion
// checked, and every manifest printed as "---\n# Source: <template>\n<document>".
//
// Build with Debian's Go libraries: GO111MODULE=off GOPATH=/usr/share/gocode go build render.go
// Usage: render -chart DIR [-f values.yaml]... [-name RELEASE] [-namespace NS]
//        [-skip-schema-validation]   (as helm's flag: the templates' own checks alone)
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/semver"
	"github.com/Masterminds/sprig"
	"github.com/xeipuuv/gojsonschema"
	"gopkg.in/yaml.v2"
)

// The Kubernetes version `helm template` assumes without a cluster.
const kubeVersion = "v1.30.0"

// Chart is the part of Chart.yaml templates see as .Chart (helm's chart.Metadata).
type Chart struct {
	APIVersion  string `json:"apiVersion"`
	Name        string `json:"name"`
	Version     string `json:"version"`
	AppVersion  string `json:"appVersion"`
	KubeVersion string `json:"kubeVersion"`
	Description string `json:"description"`
	Type        string `json:"type"`
}

// KubeVersion and VersionSet are .Capabilities.KubeVersion and .Capabilities.APIVersions.
type KubeVersion struct {
	Version string
	Major   string
	Minor   string
}

func (v KubeVersion) String() string     { return v.Version }
func (v KubeVersion) GitVersion() string { return v.Version }

type VersionSet []string

func (s VersionSet) Has(apiVersion string) bool {
	for _, v := range s {
		if v == apiVersion {
			return true
		}
	}
	return false
}

type Capabilities struct {
	KubeVersion KubeVersion
	APIVersions VersionSet
}

// The API versions of a cluster with no CRDs, as far as this chart can use them.
var builtinAPIVersions = VersionSet{"v1", "apps/v1", "autoscaling/v2", "policy/v1", "networking.k8s.io/v1"}

type valueFiles []string

func (f *valueFiles) String() string     { return strings.Join(*f, ",") }
func (f *valueFiles) Set(v string) error { *f = append(*f, v); return nil }

func main() {
	var files valueFiles
	chartDir := flag.String("chart", "", "the chart's directory")
	release := flag.String("name", "verifyd", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	flag.Var(&files, "f", "a values file over the chart's values.yaml (repeatable)")
	skipSchema := flag.Bool("skip-schema-validation", false, "do not check the values against values.schema.json")
	flag.Parse()
	if *chartDir == "" {
		flag.Usage()
		os.Exit(2)
	}
	out, err := render(*chartDir, files, *release, *namespace, *skipSchema)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
	fmt.Print(out)
}

func render(chartDir string, files []string, release, namespace string, skipSchema bool) (string, error) {
	var chart Chart
	if err := readYAMLInto(filepath.Join(chartDir, "Chart.yaml"), &chart); err != nil {
		return "", err
	}
	if chart.APIVersion != "v2" {
		return "", fmt.Errorf("Chart.yaml: apiVersion %q, helm 3 charts are v2", chart.APIVersion)
	}
	if err := checkKubeVersion(chart); err != nil {
		return "", err
	}
	values, err := loadValues(chartDir, files)
	if err != nil {
		return "", err
	}
	if !skipSchema {
		if err := validateValues(chartDir, chart.Name, values); err != nil {
			return "", err
		}
	}
	chartFiles, err := loadFiles(chartDir)
	if err != nil {
		return "", err
	}
	top := map[string]interface{}{
		"Values": values,
		"Files":  chartFiles,
		"Release": map[string]interface{}{
			"Name": release, "Namespace": namespace, "Service": "Helm",
			"Revision": 1, "IsInstall": true, "IsUpgrade": false,
		},
		"Chart": chart,
		"Capabilities": &Capabilities{
			KubeVersion: KubeVersion{Version: kubeVersion, Major: "1", Minor: "30"},
			APIVersions: builtinAPIVersions,
		},
	}
	return renderTemplates(chartDir, chart.Name, top)
}

// Files is .Files: the chart's files outside templates/, by their path in the chart.
type Files map[string][]byte

// Get is helm's: a file's text, or "" when the chart has no such file.
func (f Files) Get(name string) string { return string(f[name]) }

// The files helm reads into the chart's metadata and values rather than into .Files.
var notInFiles = map[string]bool{"Chart.yaml": true, "values.yaml": true, "values.schema.json": true}

func loadFiles(chartDir string) (Files, error) {
	files := Files{}
	err := filepath.Walk(chartDir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		relative, _ := filepath.Rel(chartDir, path)
		relative = filepath.ToSlash(relative)
		if info.IsDir() {
			if relative == "templates" || relative == "charts" {
				return filepath.SkipDir
			}
			return nil
		}
		if notInFiles[relative] {
			return nil
		}
		text, err := os.ReadFile(path)
		files[relative] = text
		return err
	})
	return files, err
}

func checkKubeVersion(chart Chart) error {
	if chart.KubeVersion == "" {
		return nil
	}
	constraint, err := semver.NewConstraint(chart.KubeVersion)
	if err != nil {
		return fmt.Errorf("Chart.yaml: kubeVersion: %v", err)
	}
	if !constraint.Check(semver.MustParse(kubeVersion)) {
		return fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s", chart.KubeVersion, kubeVersion)
	}
	return nil
}

// loadValues: the chart's values.yaml with each file coalesced over it, later files
// winning; a null removes the key, as in helm.
func loadValues(chartDir string, files []string) (map[string]interface{}, error) {
	values := map[string]interface{}{}
	if err := readYAMLInto(filepath.Join(chartDir, "values.yaml"), &values); err != nil {
		return nil, err
	}
	for _, file := range files {
		override := map[string]interface{}{}
		if err := readYAMLInto(file, &override); err != nil {
			return nil, err
		}
		coalesce(values, override)
	}
	return values, nil
}

func coalesce(dst, src map[string]interface{}) {
	for key, value := range src {
		if value == nil {
			delete(dst, key)
			continue
		}
		srcMap, srcIsMap := value.(map[string]interface{})
		dstMap, dstIsMap := dst[key].(map[string]interface{})
		if srcIsMap && dstIsMap {
			coalesce(dstMap, srcMap)
		} else {
			dst[key] = value
		}
	}
}

// validateValues checks the values against values.schema.json with the library and the
// messages helm uses.
func validateValues(chartDir, chartName string, values map[string]interface{}) error {
	schema, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	document, err := json.Marshal(values)
	if err != nil {
		return err
	}
	result, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(schema), gojsonschema.NewBytesLoader(document))
	if err != nil {
		return fmt.Errorf("values.schema.json: %v", err)
	}
	if result.Valid() {
		return nil
	}
	var message strings.Builder
	fmt.Fprintf(&message, "values don't meet the specifications of the schema(s) in the following chart(s):\n%s:\n", chartName)
	for _, problem := range result.Errors() {
		fmt.Fprintf(&message, "- %s\n", problem)
	}
	return errors.New(strings.TrimSuffix(message.String(), "\n"))
}

// renderTemplates parses every file under templates/ into one set, named
// "<chart>/templates/<path>" as helm names them, and executes each that is not a
// partial (_*.tpl). NOTES.txt must render but is not a manifest.
func renderTemplates(chartDir, chartName string, top map[string]interface{}) (string, error) {
	root := template.New("").Option("missingkey=zero")
	root.Funcs(funcMap(root))
	var names []string
	templatesDir := filepath.Join(chartDir, "templates")
	err := filepath.Walk(templatesDir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		text, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		relative, _ := filepath.Rel(chartDir, path)
		name := chartName + "/" + filepath.ToSlash(relative)
		if _, err := root.New(name).Parse(string(text)); err != nil {
			return err
		}
		names = append(names, name)
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	var out strings.Builder
	for _, name := range names {
		if strings.HasPrefix(filepath.Base(name), "_") {
			continue
		}
		data := map[string]interface{}{}
		for key, value := range top {
			data[key] = value
		}
		data["Template"] = map[string]interface{}{"Name": name, "BasePath": chartName + "/templates"}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			return "", cleanExecError(err)
		}
		if filepath.Base(name) == "NOTES.txt" {
			continue
		}
		for _, document := range splitDocuments(strings.ReplaceAll(buf.String(), "<no value>", "")) {
			fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", name, document)
		}
	}
	return out.String(), nil
}

var documentSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// splitDocuments returns the documents of a rendered file that hold more than white
// space and comments, as helm keeps them.
func splitDocuments(text string) []string {
	var documents []string
	for _, document := range documentSeparator.Split(text, -1) {
		for _, line := range strings.Split(document, "\n") {
			trimmed := strings.TrimSpace(line)
			if trimmed != "" && !strings.HasPrefix(trimmed, "#") {
				documents = append(documents, strings.Trim(document, "\n"))
				break
			}
		}
	}
	return documents
}

// Go's "template: NAME:LINE:COL: executing ... error calling required: MESSAGE" becomes
// helm's "execution error at (NAME:LINE:COL): MESSAGE".
var execError = regexp.MustCompile(`^template: (.*?): executing ".*?" at <.*?>: error calling \w+: (.*)$`)

func cleanExecError(err error) error {
	text := err.Error()
	if m := execError.FindStringSubmatch(text); m != nil {
		// Nested includes report the innermost call last.
		for {
			inner := execError.FindStringSubmatch(m[2])
			if inner == nil {
				break
			}
			m = inner
		}
		return fmt.Errorf("execution error at (%s): %s", m[1], m[2])
	}
	return err
}

// funcMap is sprig's functions, less env and expandenv (helm removes them), with helm's.
func funcMap(root *template.Template) template.FuncMap {
	functions := sprig.TxtFuncMap()
	delete(functions, "env")
	delete(functions, "expandenv")
	includeDepth := 0
	functions["include"] = func(name string, data interface{}) (string, error) {
		if includeDepth > 1000 {
			return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
		}
		includeDepth++
		defer func() { includeDepth-- }()
		var buf bytes.Buffer
		err := root.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	functions["tpl"] = func(text string, data interface{}) (string, error) {
		clone, err := root.Clone()
		if err != nil {
			return "", err
		}
		name := "tpl"
		if values, ok := data.(map[string]interface{}); ok {
			if t, ok := values["Template"].(map[string]interface{}); ok {
				name, _ = t["Name"].(string)
			}
		}
		parsed, err := clone.New(name).Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		if err := parsed.Execute(&buf, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	functions["required"] = func(message string, value interface{}) (interface{}, error) {
		if value == nil {
			return nil, errors.New(message)
		}
		if text, ok := value.(string); ok && text == "" {
			return nil, errors.New(message)
		}
		return value, nil
	}
	functions["toYaml"] = func(value interface{}) string {
		text, err := toYAML(value)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(text, "\n")
	}
	functions["fromYaml"] = func(text string) map[string]interface{} {
		value := map[string]interface{}{}
		if err := unmarshalYAML([]byte(text), &value); err != nil {
			value["Error"] = err.Error()
		}
		return value
	}
	functions["lookup"] = func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	return functions
}

// toYAML is helm's (sigs.k8s.io/yaml): to JSON, then that JSON re-read and written as YAML.
func toYAML(value interface{}) (string, error) {
	document, err := json.Marshal(value)
	if err != nil {
		return "", err
	}
	var generic interface{}
	if err := yaml.Unmarshal(document, &generic); err != nil {
		return "", err
	}
	text, err := yaml.Marshal(generic)
	return string(text), err
}

func readYAMLInto(path string, target interface{}) error {
	text, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := unmarshalYAML(text, target); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return nil
}

// unmarshalYAML is helm's (sigs.k8s.io/yaml): YAML to JSON, then JSON into target, so
// that every number is a float64.
func unmarshalYAML(text []byte, target interface{}) error {
	var generic interface{}
	if err := yaml.Unmarshal(text, &generic); err != nil {
		return err
	}
	if generic == nil {
		return nil
	}
	document, err := json.Marshal(stringKeys(generic))
	if err != nil {
		return err
	}
	return json.Unmarshal(document, target)
}

// stringKeys makes yaml.v2's map[interface{}]interface{} maps JSON's map[string]interface{}.
func stringKeys(value interface{}) interface{} {
	switch v := value.(type) {
	case map[interface{}]interface{}:
		converted := make(map[string]interface{}, len(v))
		for key, item := range v {
			converted[fmt.Sprint(key)] = stringKeys(item)
		}
		return converted
	case []interface{}:
		converted := make([]interface{}, len(v))
		for i, item := range v {
			converted[i] = stringKeys(item)
		}
		return converted
	}
	return value
}
