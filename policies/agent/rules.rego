# kata-cc agent policy rules (Rego v1). `kata-cc policy generate` appends `policy_data := {…}`
# (containers, common, sandbox, request_defaults: the layout genpolicy uses) to this file.
# Every request rule is `count(violations.<Request>) == 0`; each violation is one short message
# naming the field, the expected and the actual value. The agent quotes them in its denial.

package agent_policy

default AllowRequestsFailingPolicy := false

# Requests that change nothing a workload owner relies on.
default CheckRequest := true
default DestroySandboxRequest := true
default GetOOMEventRequest := true
default GuestDetailsRequest := true
default OnlineCPUMemRequest := true
default RemoveContainerRequest := true
default RemoveStaleVirtiofsShareMountsRequest := true
default SignalProcessRequest := true
default StartContainerRequest := true
default StatsContainerRequest := true
default TtyWinResizeRequest := true
default WaitProcessRequest := true
default ListInterfacesRequest := true
default ListRoutesRequest := true

# Requests no pod of a confidential workload needs.
default AddSwapRequest := false
default GetIPTablesRequest := false
default GetMetricsRequest := false
default MemHotplugByProbeRequest := false
default PauseContainerRequest := false
default ReseedRandomDevRequest := false
default ResizeVolumeRequest := false
default ResumeContainerRequest := false
default SetGuestDateTimeRequest := false
default SetIPTablesRequest := false
default StartTracingRequest := false
default StopTracingRequest := false
default UpdateContainerRequest := false
default UpdateEphemeralMountsRequest := false
default VolumeStatsRequest := false

# Requests decided by the rules below.
default AddARPNeighborsRequest := false
default CloseStdinRequest := false
default CopyFileRequest := false
default CreateContainerRequest := false
default CreateSandboxRequest := false
default ExecProcessRequest := false
default ReadStreamRequest := false
default SetPolicyRequest := false
default UpdateInterfaceRequest := false
default UpdateRoutesRequest := false
default WriteStreamRequest := false

S_NAME_KEY := "io.kubernetes.cri.sandbox-name"

S_NAMESPACE_KEY := "io.kubernetes.cri.sandbox-namespace"

C_NAME_KEY := "io.kubernetes.cri.container-name"

C_TYPE_KEY := "io.kubernetes.cri.container-type"

IMAGE_KEY := "io.kubernetes.cri.image-name"

defaults := object.get(policy_data, "request_defaults", {})

common := object.get(policy_data, "common", {})

# ---------------------------------------------------------------- CreateContainerRequest

CreateContainerRequest := {"allowed": true, "ops": container_ops} if {
	count(violations.CreateContainerRequest) == 0
}

i_oci := object.get(input, "OCI", {})

i_annotations := object.get(i_oci, "Annotations", {})

i_process := object.get(i_oci, "Process", {})

i_is_sandbox if i_annotations[C_TYPE_KEY] == "sandbox"

# The policy container for this request: the pause container for a sandbox, else by name.
p_index := i if {
	i_is_sandbox
	some i, c in policy_data.containers
	c.OCI.Annotations[C_TYPE_KEY] == "sandbox"
}

p_index := i if {
	not i_is_sandbox
	some i, c in policy_data.containers
	object.get(c.OCI.Annotations, C_NAME_KEY, null) == i_annotations[C_NAME_KEY]
}

p_container := policy_data.containers[p_index]

p_oci := p_container.OCI

violations.CreateContainerRequest contains msg if {
	not p_index
	names := [n | some c in policy_data.containers; n := object.get(c.OCI.Annotations, C_NAME_KEY, "(pause)")]
	msg := sprintf("OCI.Annotations[%q]: no policy container named %q (policy containers: %v)", [C_NAME_KEY, object.get(i_annotations, C_NAME_KEY, ""), names])
}

violations.CreateContainerRequest contains msg if {
	some msg in container_violations
}

container_violations contains msg if {
	some key, want in p_oci.Annotations
	key != IMAGE_KEY
	got := object.get(i_annotations, key, null)
	got != null
	not annotation_matches(key, want, got)
	msg := sprintf("OCI.Annotations[%q]: expected %q, got %q", [key, want, got])
}

container_violations contains msg if {
	some key, want in p_oci.Annotations
	not key in optional_annotations
	not i_annotations[key]
	msg := sprintf("OCI.Annotations[%q]: missing (expected %q)", [key, want])
}

container_violations contains msg if {
	some key, got in i_annotations
	not p_oci.Annotations[key]
	not extra_annotation_allowed(key)
	msg := sprintf("OCI.Annotations[%q]: not allowed by the policy (value %q)", [key, got])
}

# An empty namespace in the policy (the manifest named none) accepts any namespace.
annotation_matches(key, "", _) if key == S_NAMESPACE_KEY

annotation_matches(_, want, got) if matches(want, got)

optional_annotations := object.get(defaults, "optional_annotations", [
	"io.katacontainers.pkg.oci.bundle_path",
	"io.katacontainers.pkg.oci.container_type",
	"io.kubernetes.cri.sandbox-log-directory",
	"nerdctl/network-namespace",
	IMAGE_KEY,
])

extra_annotation_allowed(key) if {
	some re in object.get(defaults, "allow_annotation_regex", [
		"^io\\.kubernetes\\.cri\\.sandbox-uid$",
		"^io\\.kubernetes\\.cri\\.sandbox-log-directory$",
		"^io\\.kubernetes\\.cri\\.sandbox-(cpu|memory)-.+$",
		"^io\\.kubernetes\\.cri\\.image-name$",
		"^io\\.katacontainers\\.pkg\\.oci\\.(bundle_path|container_type)$",
	])
	regex.match(re, key)
}

# The image: the policy's reference and the request's, both normalised (docker.io/library,
# :latest, a tag dropped when a digest is given); a digest the generator resolved also matches.
container_violations contains msg if {
	want := p_oci.Annotations[IMAGE_KEY]
	got := object.get(i_annotations, IMAGE_KEY, "")
	not image_allowed(want, got)
	msg := sprintf("OCI.Annotations[%q] (image): expected %q, got %q", [IMAGE_KEY, want, got])
}

container_violations contains msg if {
	some s in object.get(input, "storages", [])
	s.driver == "image_guest_pull"
	want := p_oci.Annotations[IMAGE_KEY]
	not image_allowed(want, s.source)
	msg := sprintf("storages[image_guest_pull].source (image): expected %q, got %q", [want, s.source])
}

image_allowed(want, got) if normalize_image(want) == normalize_image(got)

image_allowed(want, got) if {
	parts := split(normalize_image(got), "@")
	count(parts) == 2
	image_repo(normalize_image(want)) == parts[0]
	parts[1] in object.get(p_container, "image_digests", [])
}

image_repo(ref) := split(ref, "@")[0] if contains(ref, "@")

image_repo(ref) := regex.replace(ref, ":[^:/]+$", "") if not contains(ref, "@")

normalize_image(ref) := out if {
	named := split(ref, "@")
	domain_fixed := with_domain(named[0])
	out := concat("@", array.concat([tag_fixed(domain_fixed, count(named) > 1)], array.slice(named, 1, 2)))
}

with_domain(name) := name if {
	first := split(name, "/")[0]
	contains(name, "/")
	regex.match("[.:]|^localhost$", first)
}

with_domain(name) := concat("/", ["docker.io", name]) if {
	contains(name, "/")
	not regex.match("[.:]|^localhost$", split(name, "/")[0])
}

with_domain(name) := concat("/", ["docker.io/library", name]) if not contains(name, "/")

# name[:tag]: with a digest the tag is dropped, without one it defaults to latest
tag_fixed(name, true) := regex.replace(name, ":[^:/]+$", "")

tag_fixed(name, false) := name if regex.match(":[^:/]+$", name)

tag_fixed(name, false) := concat(":", [name, "latest"]) if not regex.match(":[^:/]+$", name)

# Process.Args: same length, each element as the policy says.
container_violations contains msg if {
	want := p_oci.Process.Args
	got := object.get(i_process, "Args", [])
	not args_match(want, got)
	msg := sprintf("OCI.Process.Args (command): expected %v, got %v", [want, got])
}

args_match(want, got) if {
	count(want) == count(got)
	every i, w in want {
		matches(w, got[i])
	}
}

container_violations contains msg if {
	some e in object.get(i_process, "Env", [])
	not env_allowed(e)
	msg := sprintf("OCI.Process.Env: %q is not allowed by the policy", [e])
}

# One regex for every allowed variable (evaluated once per request, cached by the engine).
env_regex := concat("|", array.concat(
	[concat("", ["^(?:", pattern_regex(w), ")$"]) | some w in p_oci.Process.Env],
	[concat("", ["(?:", expand(re), ")"]) | some re in object.get(object.get(defaults, "CreateContainerRequest", {}), "allow_env_regex", [])],
))

env_allowed(e) if regex.match(env_regex, e)

container_violations contains msg if {
	some f in ["UID", "GID"]
	want := p_oci.Process.User[f]
	got := object.get(object.get(i_process, "User", {}), f, 0)
	want != got
	msg := sprintf("OCI.Process.User.%s: expected %v, got %v", [f, want, got])
}

container_violations contains msg if {
	some g in object.get(object.get(i_process, "User", {}), "AdditionalGids", [])
	not g in p_oci.Process.User.AdditionalGids
	not g == p_oci.Process.User.GID
	msg := sprintf("OCI.Process.User.AdditionalGids: %v not allowed (expected a subset of %v)", [g, p_oci.Process.User.AdditionalGids])
}

container_violations contains msg if {
	want := object.get(p_oci.Process, "Cwd", "")
	want != ""
	got := object.get(i_process, "Cwd", "")
	not matches(want, got)
	msg := sprintf("OCI.Process.Cwd: expected %q, got %q", [want, got])
}

container_violations contains msg if {
	p_oci.Process.NoNewPrivileges == true
	not i_process.NoNewPrivileges == true
	msg := "OCI.Process.NoNewPrivileges: expected true, got false"
}

container_violations contains msg if {
	object.get(p_oci.Process, "Terminal", false) == false
	i_process.Terminal == true
	msg := "OCI.Process.Terminal: expected false, got true"
}

p_privileged if "$(privileged_caps)" in p_oci.Process.Capabilities.Bounding

privilege_note := " (container is not privileged)" if not p_privileged

privilege_note := "" if p_privileged

container_violations contains msg if {
	some set in ["Ambient", "Bounding", "Effective", "Inheritable", "Permitted"]
	allowed := {c | some w in object.get(p_oci.Process.Capabilities, set, []); some c in expand_caps(w)}
	extra := {c | some c in object.get(object.get(i_process, "Capabilities", {}), set, []); not c in allowed}
	count(extra) > 0
	msg := sprintf("OCI.Process.Capabilities.%s: %v not allowed%s", [set, sort(extra), privilege_note])
}

expand_caps(w) := common.default_caps if w == "$(default_caps)"

expand_caps(w) := common.privileged_caps if w == "$(privileged_caps)"

expand_caps(w) := [w] if not startswith(w, "$(")

# Masked and read-only paths: the request may add some, never drop the policy's.
container_violations contains msg if {
	some f in ["MaskedPaths", "ReadonlyPaths"]
	missing := [path |
		some path in object.get(object.get(p_oci, "Linux", {}), f, [])
		not path in object.get(object.get(i_oci, "Linux", {}), f, [])
	]
	count(missing) > 0
	msg := sprintf("OCI.Linux.%s: %v missing%s", [f, missing, privilege_note])
}

container_violations contains msg if {
	some path, want in object.get(object.get(p_oci, "Linux", {}), "Sysctl", {})
	got := object.get(object.get(object.get(i_oci, "Linux", {}), "Sysctl", {}), path, want)
	got != want
	msg := sprintf("OCI.Linux.Sysctl[%q]: expected %q, got %q", [path, want, got])
}

container_violations contains msg if {
	some path, got in object.get(object.get(i_oci, "Linux", {}), "Sysctl", {})
	not object.get(object.get(p_oci, "Linux", {}), "Sysctl", {})[path]
	msg := sprintf("OCI.Linux.Sysctl[%q]: not allowed by the policy (value %q)", [path, got])
}

container_violations contains msg if {
	count(object.get(object.get(i_oci, "Linux", {}), "Devices", [])) > count(object.get(object.get(p_oci, "Linux", {}), "Devices", []))
	msg := sprintf("OCI.Linux.Devices: %d devices, the policy allows %d", [count(i_oci.Linux.Devices), count(object.get(object.get(p_oci, "Linux", {}), "Devices", []))])
}

container_violations contains msg if {
	count(object.get(input, "devices", [])) > count(object.get(p_container, "devices", []))
	msg := sprintf("devices: %d devices, the policy allows %d", [count(input.devices), count(object.get(p_container, "devices", []))])
}

# Namespaces: every policy type present and private (no host path); extra types only those
# that isolate more (a pid, network or cgroup namespace of the guest).
p_ns_types := {n.Type | some n in object.get(object.get(p_oci, "Linux", {}), "Namespaces", [])}

i_namespaces := object.get(object.get(i_oci, "Linux", {}), "Namespaces", [])

container_violations contains msg if {
	some t in p_ns_types
	not t in {n.Type | some n in i_namespaces}
	msg := sprintf("OCI.Linux.Namespaces: the %q namespace is missing", [t])
}

container_violations contains msg if {
	some n in i_namespaces
	not n.Type in p_ns_types
	not n.Type in object.get(defaults, "optional_namespaces", ["pid", "network", "cgroup"])
	msg := sprintf("OCI.Linux.Namespaces: a %q namespace is not allowed", [n.Type])
}

container_violations contains msg if {
	some n in i_namespaces
	object.get(n, "Path", "") != ""
	msg := sprintf("OCI.Linux.Namespaces: the %q namespace must be new, got path %q", [n.Type, n.Path])
}

container_violations contains msg if {
	want := p_container.sandbox_pidns
	got := object.get(input, "sandbox_pidns", false)
	want != got
	msg := sprintf("sandbox_pidns: expected %v, got %v", [want, got])
}

# Root: the guest path of this container's rootfs.
container_violations contains msg if {
	want := p_oci.Root.Path
	got := object.get(object.get(i_oci, "Root", {}), "Path", "")
	not matches(want, got)
	msg := sprintf("OCI.Root.Path: expected %q, got %q", [expand_literal(want), got])
}

container_violations contains msg if {
	p_oci.Root.Readonly == true
	not i_oci.Root.Readonly == true
	msg := "OCI.Root.Readonly: expected true, got false"
}

# Mounts: each request mount must be one of the policy's (destination, type, source, options);
# the request may leave policy mounts out (the shim drops host bind mounts).
container_violations contains msg if {
	some m in object.get(i_oci, "Mounts", [])
	not mount_allowed(m)
	msg := mount_message(m)
}

mount_type(m) := object.get(m, "type_", object.get(m, "type", ""))

mount_allowed(m) if {
	some i in p_mounts_at[m.destination]
	p := p_oci.Mounts[i]
	mount_type(p) == mount_type(m)
	regex.match(p_mount_source_re[i], m.source)
	{o | some o in p.options} == {o | some o in m.options}
}

# Once per request: policy mount indexes by destination, and each source as a regex.
p_mounts_at := {d: [i | some i, q in p_oci.Mounts; q.destination == d] | some p in p_oci.Mounts; d := p.destination}

p_mount_source_re := [concat("", ["^(?:", pattern_regex(p.source), ")$"]) | some p in p_oci.Mounts]

mount_message(m) := msg if {
	p := p_oci.Mounts[p_mounts_at[m.destination][0]]
	msg := sprintf("OCI.Mounts[%q]: expected %s %q options %v, got %s %q options %v", [m.destination, mount_type(p), expand_literal(p.source), p.options, mount_type(m), m.source, m.options])
}

mount_message(m) := msg if {
	not p_mounts_at[m.destination]
	msg := sprintf("OCI.Mounts[%q]: mount of %s %q not allowed by the policy", [m.destination, mount_type(m), m.source])
}

# Storages: each request storage must be one of the policy container's.
container_violations contains msg if {
	some s in object.get(input, "storages", [])
	s.driver != "image_guest_pull"
	not storage_allowed(s, object.get(p_container, "storages", []))
	msg := sprintf("storages: %s storage of %q at %q not allowed by the policy", [s.driver, s.source, s.mount_point])
}

storage_allowed(s, allowed) if {
	some p in allowed
	p.driver == s.driver
	p.fstype == s.fstype
	matches(p.source, s.source)
	matches(p.mount_point, s.mount_point)
	{o | some o in p.options} == {o | some o in s.options}
}

# The sandbox name is fixed by the first container; later ones must name the same sandbox.
container_violations contains msg if {
	want := data.pstate.sandbox_name
	got := object.get(i_annotations, S_NAME_KEY, "")
	want != got
	msg := sprintf("OCI.Annotations[%q]: expected %q (the sandbox of the first container), got %q", [S_NAME_KEY, want, got])
}

container_ops := array.concat(name_ops, id_ops)

name_ops := [] if data.pstate.sandbox_name

name_ops := [{"op": "add", "path": "/pstate/sandbox_name", "value": object.get(i_annotations, S_NAME_KEY, "")}] if not data.pstate.sandbox_name

id_ops := [{"op": "add", "path": concat("", ["/pstate/containers/", pointer_escape(input.container_id)]), "value": p_index}] if data.pstate.containers

id_ops := [{"op": "add", "path": "/pstate/containers", "value": {input.container_id: p_index}}] if not data.pstate.containers

pointer_escape(s) := replace(replace(s, "~", "~0"), "/", "~1")

# ---------------------------------------------------------------- policy strings
# A policy string starting with "^" is a regex; others are literal text. Both may hold $(name)
# placeholders: common values (cpath, sfprefix, …), values of the request (bundle-id = container
# id, sandbox-name, sandbox-namespace) and run-time values matching anything (pod-ip, node-name,
# host-name, …).

matches(want, got) if {
	not contains(want, "$(")
	not startswith(want, "^")
	want == got
}

matches(want, got) if {
	is_regex(want)
	regex.match(expand(want), got)
}

matches(want, got) if {
	not is_regex(want)
	contains(want, "$(")
	regex.match(concat("", ["^", literal_regex(want), "$"]), got)
}

is_regex(s) if startswith(s, "^")

is_regex(s) if startswith(s, "$(sfprefix)")

# Any policy string as an (unanchored for regexes, anchored for literals) regex.
pattern_regex(s) := expand(s) if is_regex(s)

pattern_regex(s) := literal_regex(s) if not is_regex(s)

# A regex policy string with its placeholders replaced (two rounds: sfprefix holds $(cpath)).
expand(re) := expand_once(expand_once(re))

expand_once(re) := re if not contains(re, "$(")

expand_once(re) := concat("", [piece | some i, part in split(re, "$("); piece := expand_part(i, part, true)]) if contains(re, "$(")

literal_regex(s) := quote(s) if not contains(s, "$(")

literal_regex(s) := concat("", [piece | some i, part in split(s, "$("); piece := expand_part(i, part, false)]) if contains(s, "$(")

expand_literal(s) := concat("", [piece | some i, part in split(s, "$("); piece := literal_part(i, part)])

expand_part(0, part, true) := part

expand_part(0, part, false) := quote(part)

expand_part(i, part, is_re) := concat("", [placeholder_regex(name), tail]) if {
	i > 0
	end := indexof(part, ")")
	end > 0
	name := substring(part, 0, end)
	rest := substring(part, end + 1, -1)
	tail := tail_text(rest, is_re)
}

tail_text(rest, true) := rest

tail_text(rest, false) := quote(rest)

literal_part(0, part) := part

literal_part(i, part) := concat("", ["$(", part]) if i > 0

placeholder_regex(name) := expand_once(common[name]) if is_string(common[name])

placeholder_regex(name) := quote(v) if {
	not common[name]
	v := request_value[name]
}

placeholder_regex(name) := ".*" if {
	not common[name]
	not request_value[name]
	name != "bundle-id"
}

# Requests without a container id (CopyFile): any container id.
placeholder_regex("bundle-id") := "[a-z0-9]{64}" if not is_string(input.container_id)

request_value["bundle-id"] := input.container_id if is_string(input.container_id)

request_value["sandbox-name"] := i_annotations[S_NAME_KEY]

request_value["sandbox-namespace"] := i_annotations[S_NAMESPACE_KEY]

quote(s) := strings.replace_n(regex_meta, s)

regex_meta := {c: concat("", ["\\", c]) | some c in ["\\", ".", "+", "*", "?", "(", ")", "|", "[", "]", "{", "}", "^", "$"]}

# ---------------------------------------------------------------- CreateSandboxRequest

CreateSandboxRequest if count(violations.CreateSandboxRequest) == 0

violations.CreateSandboxRequest contains msg if {
	want := object.get(object.get(policy_data, "sandbox", {}), "sandbox_pidns", false)
	got := object.get(input, "sandbox_pidns", false)
	want != got
	msg := sprintf("sandbox_pidns: expected %v, got %v", [want, got])
}

violations.CreateSandboxRequest contains msg if {
	count(object.get(input, "kernel_modules", [])) > 0
	msg := sprintf("kernel_modules: expected none, got %v", [[m.name | some m in input.kernel_modules]])
}

violations.CreateSandboxRequest contains msg if {
	object.get(input, "guest_hook_path", "") != ""
	msg := sprintf("guest_hook_path: expected \"\", got %q", [input.guest_hook_path])
}

violations.CreateSandboxRequest contains msg if {
	object.get(input, "guest_userns", false) == true
	msg := "guest_userns: expected false, got true"
}

violations.CreateSandboxRequest contains msg if {
	some s in object.get(input, "storages", [])
	not storage_allowed(s, object.get(object.get(policy_data, "sandbox", {}), "storages", []))
	msg := sprintf("storages: %s storage of %q at %q not allowed by the policy", [s.driver, s.source, s.mount_point])
}

# ---------------------------------------------------------------- ExecProcessRequest

ExecProcessRequest if count(violations.ExecProcessRequest) == 0

exec_args := object.get(object.get(input, "process", {}), "Args", [])

exec_container := policy_data.containers[data.pstate.containers[input.container_id]]

violations.ExecProcessRequest contains msg if {
	not exec_allowed
	msg := sprintf("process.Args (command): %v is not an allowed command for container %q", [exec_args, object.get(input, "container_id", "")])
}

exec_allowed if {
	some c in object.get(exec_container, "exec_commands", [])
	exec_command_matches(c)
}

exec_allowed if {
	some c in object.get(object.get(defaults, "ExecProcessRequest", {}), "allowed_commands", [])
	exec_command_matches(c)
}

exec_allowed if {
	some re in object.get(object.get(defaults, "ExecProcessRequest", {}), "regex", [])
	regex.match(re, concat(" ", exec_args))
}

exec_command_matches(c) if c == exec_args

exec_command_matches(c) if {
	is_string(c)
	c == concat(" ", exec_args)
}

violations.ExecProcessRequest contains msg if {
	want := exec_container.OCI.Process.User.UID
	got := object.get(object.get(object.get(input, "process", {}), "User", {}), "UID", 0)
	want != got
	msg := sprintf("process.User.UID: expected %v (the container's user), got %v", [want, got])
}

# ---------------------------------------------------------------- CopyFileRequest
# Only into the shared containers directory, no ".." anywhere, symlinks only below a top-level
# entry and only relative without "..".

CopyFileRequest if count(violations.CopyFileRequest) == 0

copy_path := object.get(input, "path", "")

copy_type := input.file_type

copy_type := t if {
	not input.file_type
	t := {32768: "Regular", 16384: "Directory", 40960: "Symlink"}[bits.and(object.get(input, "file_mode", 0), 61440)]
}

violations.CopyFileRequest contains msg if {
	not startswith(copy_path, "/")
	msg := sprintf("path: expected an absolute path, got %q", [copy_path])
}

violations.CopyFileRequest contains msg if {
	".." in split(copy_path, "/")
	msg := sprintf("path: %q contains a \"..\" component", [copy_path])
}

violations.CopyFileRequest contains msg if {
	not copy_prefix_allowed
	msg := sprintf("path: %q is not under an allowed prefix %v", [copy_path, copy_prefixes])
}

copy_prefixes := object.get(defaults, "CopyFileRequest", ["$(sfprefix)"])

copy_prefix_allowed if {
	some p in copy_prefixes
	regex.match(expand(p), copy_path)
}

violations.CopyFileRequest contains msg if {
	not copy_type in {"Regular", "Directory", "Symlink"}
	msg := sprintf("file_type: expected Regular, Directory or Symlink, got %v", [object.get(input, "file_type", object.get(input, "file_mode", null))])
}

violations.CopyFileRequest contains msg if {
	copy_type == "Symlink"
	some p in copy_prefixes
	regex.match(concat("", [expand(p), "[^/]*$"]), copy_path)
	msg := sprintf("path: a symlink %q directly in the shared directory is not allowed", [copy_path])
}

violations.CopyFileRequest contains msg if {
	copy_type == "Symlink"
	target := object.get(input, "symlink_target", "")
	not symlink_target_ok(target)
	msg := sprintf("symlink_target: %q must be relative and without \"..\"", [target])
}

symlink_target_ok(t) if {
	t != ""
	not startswith(t, "/")
	not ".." in split(t, "/")
}

# ---------------------------------------------------------------- streams, SetPolicy

ReadStreamRequest if object.get(defaults, "ReadStreamRequest", false) == true

violations.ReadStreamRequest contains "container output (logs) is disabled by the policy: policy_data.request_defaults.ReadStreamRequest is false" if {
	not ReadStreamRequest
}

WriteStreamRequest if object.get(defaults, "WriteStreamRequest", false) == true

violations.WriteStreamRequest contains "container stdin is disabled by the policy: policy_data.request_defaults.WriteStreamRequest is false" if {
	not WriteStreamRequest
}

CloseStdinRequest if object.get(defaults, "CloseStdinRequest", false) == true

violations.CloseStdinRequest contains "container stdin is disabled by the policy: policy_data.request_defaults.CloseStdinRequest is false" if {
	not CloseStdinRequest
}

# A new policy is accepted only when its SHA-256 is listed (none by default).
SetPolicyRequest if crypto.sha256(input.policy) in object.get(object.get(defaults, "SetPolicyRequest", {}), "allowed_sha256", [])

violations.SetPolicyRequest contains msg if {
	not SetPolicyRequest
	msg := sprintf("policy: replacing the policy is not allowed (sha256 %s is not in policy_data.request_defaults.SetPolicyRequest.allowed_sha256)", [crypto.sha256(object.get(input, "policy", ""))])
}

# ---------------------------------------------------------------- network

UpdateInterfaceRequest if count(violations.UpdateInterfaceRequest) == 0

iface := object.get(input, "interface", {})

iface_rules := object.get(defaults, "UpdateInterfaceRequest", {})

violations.UpdateInterfaceRequest contains msg if {
	object.get(iface, "name", "") in object.get(iface_rules, "forbidden_names", ["lo"])
	msg := sprintf("interface.name: %q may not be changed", [iface.name])
}

violations.UpdateInterfaceRequest contains msg if {
	lower(object.get(iface, "hwAddr", "")) in object.get(iface_rules, "forbidden_hw_addrs", ["00:00:00:00:00:00"])
	msg := sprintf("interface.hwAddr: %q is not allowed", [iface.hwAddr])
}

violations.UpdateInterfaceRequest contains msg if {
	flags := object.get(iface, "raw_flags", 0)
	allowed := object.get(iface_rules, "allow_raw_flags", 0)
	bits.and(flags, bits.negate(allowed)) != 0
	msg := sprintf("interface.raw_flags: %d has bits outside the allowed %d", [flags, allowed])
}

UpdateRoutesRequest if count(violations.UpdateRoutesRequest) == 0

route_rules := object.get(defaults, "UpdateRoutesRequest", {})

violations.UpdateRoutesRequest contains msg if {
	some r in object.get(object.get(input, "routes", {}), "Routes", [])
	r.device in object.get(route_rules, "forbidden_device_names", ["lo"])
	msg := sprintf("routes.Routes[dest %q].device: %q may not be routed", [r.dest, r.device])
}

violations.UpdateRoutesRequest contains msg if {
	some r in object.get(object.get(input, "routes", {}), "Routes", [])
	some re in object.get(route_rules, "forbidden_source_regex", [])
	regex.match(re, object.get(r, "source", ""))
	msg := sprintf("routes.Routes[dest %q].source: %q is not allowed", [r.dest, r.source])
}

AddARPNeighborsRequest if count(violations.AddARPNeighborsRequest) == 0

arp_rules := object.get(defaults, "AddARPNeighborsRequest", {})

violations.AddARPNeighborsRequest contains msg if {
	some n in object.get(object.get(input, "neighbors", {}), "ARPNeighbors", [])
	n.device in object.get(arp_rules, "forbidden_device_names", ["lo"])
	msg := sprintf("neighbors.ARPNeighbors.device: %q is not allowed", [n.device])
}

violations.AddARPNeighborsRequest contains msg if {
	some n in object.get(object.get(input, "neighbors", {}), "ARPNeighbors", [])
	some re in object.get(arp_rules, "forbidden_cidrs_regex", [])
	regex.match(re, object.get(object.get(n, "toIPAddress", {}), "address", ""))
	msg := sprintf("neighbors.ARPNeighbors.toIPAddress: %q is not allowed", [n.toIPAddress.address])
}
