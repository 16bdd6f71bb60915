"""A small GitLab (REST v4) on loopback, for the GitLab forge's tests.

No machine-readable description of GitLab's API ships on npm or PyPI, so this server checks
each request against the endpoints and parameters GitLab documents (docs.gitlab.com/api:
merge requests, notes, pipelines, jobs, groups): an unknown endpoint, an undocumented
parameter, a missing required one or a value outside a documented enum is answered 400/404
and recorded as a violation. It keeps merge requests in memory so a lifecycle can run, and
answers in the documented response shapes (only the fields the client reads, plus ids).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from forge_servers import ApiServer, Exchange, JsonHandler

PAGING = {"page", "per_page"}
ID = r"(?P<id>[^/]+)"  # a numeric id or a URL-encoded path (group%2Fname)


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    query: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    enums: dict[str, frozenset[str]] = field(default_factory=dict)


def _route(method: str, pattern: str, **kwargs: Any) -> Route:
    sets = {k: frozenset(v) for k, v in kwargs.items() if k != "enums"}
    enums = {k: frozenset(v) for k, v in kwargs.get("enums", {}).items()}
    return Route(method, pattern, enums=enums, **sets)


ROUTES = [
    _route("GET", rf"/projects/{ID}/merge_requests",
           query={*PAGING, "state", "source_branch", "target_branch", "order_by", "sort",
                  "labels", "search", "view", "scope", "author_id", "wip", "draft"},
           enums={"state": {"opened", "closed", "locked", "merged", "all"}}),
    _route("POST", rf"/projects/{ID}/merge_requests",
           required={"source_branch", "target_branch", "title"},
           optional={"description", "remove_source_branch", "squash", "labels", "assignee_id",
                     "assignee_ids", "reviewer_ids", "milestone_id", "allow_collaboration",
                     "target_project_id"}),
    _route("GET", rf"/projects/{ID}/merge_requests/(?P<iid>\d+)"),
    _route("PUT", rf"/projects/{ID}/merge_requests/(?P<iid>\d+)",
           optional={"title", "description", "target_branch", "state_event",
                     "remove_source_branch", "squash", "labels", "add_labels", "remove_labels",
                     "assignee_id", "assignee_ids", "reviewer_ids", "discussion_locked",
                     "milestone_id", "allow_collaboration"},
           enums={"state_event": {"close", "reopen"}}),
    _route("POST", rf"/projects/{ID}/merge_requests/(?P<iid>\d+)/notes",
           required={"body"}, optional={"created_at", "internal", "merge_request_diff_head_sha"}),
    _route("GET", rf"/projects/{ID}/pipelines",
           query={*PAGING, "sha", "ref", "status", "source", "scope", "order_by", "sort",
                  "updated_after", "updated_before", "username", "yaml_errors", "name"},
           enums={"order_by": {"id", "status", "ref", "updated_at", "user_id"},
                  "sort": {"asc", "desc"}}),
    _route("GET", rf"/projects/{ID}/pipelines/(?P<pipeline>\d+)/jobs",
           query={*PAGING, "scope[]", "include_retried"},
           enums={"scope[]": {"created", "pending", "running", "failed", "success", "canceled",
                              "skipped", "waiting_for_resource", "manual"}}),
    _route("GET", rf"/projects/{ID}/jobs/(?P<job>\d+)/trace"),
    _route("POST", rf"/projects/{ID}/jobs/(?P<job>\d+)/retry"),
    _route("GET", r"/users",
           query={*PAGING, "username", "search", "active", "blocked", "external",
                  "exclude_internal", "exclude_external", "humans", "order_by", "sort"}),
    _route("GET", rf"/groups/{ID}/projects",
           query={*PAGING, "archived", "visibility", "order_by", "sort", "search", "simple",
                  "owned", "starred", "include_subgroups", "with_shared", "min_access_level",
                  "with_issues_enabled", "with_merge_requests_enabled", "topic"},
           enums={"order_by": {"id", "name", "path", "created_at", "updated_at", "similarity",
                               "star_count", "last_activity_at"},
                  "archived": {"true", "false"}, "include_subgroups": {"true", "false"}}),
]  # fmt: skip


class GitLabApi(ApiServer):
    """GitLab's REST API under /api/v4 for one token; `exchanges` records every request."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.merge_requests: dict[str, dict[int, dict[str, Any]]] = {}
        self.pipelines: dict[str, list[dict[str, Any]]] = {}
        """Per project: pipelines (with their `jobs`), newest last."""
        self.group_projects: list[str] = []
        self.topics: dict[str, list[str]] = {}
        """Per project path: its topics (what `topic=` on a group's projects filters on)."""
        self.users: dict[str, int] = {}
        """Users by username: who can be asked for review."""
        self.projects: dict[str, int] = {}
        """Numeric project ids given out so far, by path."""
        self.throttled = 0
        """How many coming requests get a 429 with Retry-After: 1."""
        super().__init__(_GitLabHandler)

    def answer(
        self, method: str, path: str, query: dict[str, list[str]], body: dict[str, Any]
    ) -> tuple[int, Any, list[dict[str, Any]]]:
        for route in ROUTES:
            match = re.fullmatch(route.pattern, path)
            if route.method == method and match:
                violations = _check(route, query, body)
                if violations:
                    return 400, {"error": violations[0]["message"]}, violations
                return (*self._serve(route, match.groupdict(), query, body), [])
        return (
            404,
            {"error": "404 Not Found"},
            [{"location": ["request"], "message": f"no endpoint {method} {path}"}],
        )

    def _serve(
        self, route: Route, ids: dict[str, str], query: dict[str, list[str]], body: dict[str, Any]
    ) -> tuple[int, Any]:
        project = self.project_path(unquote(ids.get("id", "")))
        mrs = self.merge_requests.setdefault(project, {})
        handler = _HANDLERS[(route.method, route.pattern)]
        return handler(self, project, mrs, ids, query, body)

    def project_id(self, path: str) -> int:
        return self.projects.setdefault(path, len(self.projects) + 7)

    def project_path(self, id_or_path: str) -> str:
        """A project's path from its numeric id or its path, as GitLab accepts either."""
        by_id = {str(number): path for path, number in self.projects.items()}
        return by_id.get(id_or_path, id_or_path)

    def merge_request(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        mrs = self.merge_requests.setdefault(project, {})
        iid = len(mrs) + 1
        mrs[iid] = {
            "id": 1000 + iid, "iid": iid, "project_id": self.project_id(project), "state": "opened",
            "title": body["title"], "description": body.get("description", ""),
            "source_branch": body["source_branch"], "target_branch": body["target_branch"],
            "draft": body["title"].startswith("Draft:"), "sha": "a" * 40,
            "labels": [], "reviewers": [],
            "web_url": f"{self.url}/{project}/-/merge_requests/{iid}",
        }  # fmt: skip
        return mrs[iid]


def _check(route: Route, query: dict[str, list[str]], body: dict[str, Any]) -> list[dict[str, Any]]:
    problems = [
        f"undocumented query parameter {name!r}" for name in query if name not in route.query
    ]
    allowed = route.required | route.optional
    problems += [f"undocumented parameter {name!r}" for name in body if name not in allowed]
    problems += [f"missing required parameter {name!r}" for name in route.required - set(body)]
    values = {**{k: v for k, vs in query.items() for v in vs[:1]}, **body}
    for name, allowed_values in route.enums.items():
        given = query.get(name, [values[name]] if name in values else [])
        problems += [f"{name}={v!r} is not one of {sorted(allowed_values)}"
                     for v in map(str, given) if v not in allowed_values]  # fmt: skip
    return [{"location": ["request"], "message": problem} for problem in problems]


Handler = Callable[..., tuple[int, Any]]


def _list_mrs(
    api: GitLabApi, project: str, mrs: dict[int, Any], ids: Any, query: Any, body: Any
) -> tuple[int, Any]:
    wanted = {k: v[0] for k, v in query.items() if k in ("state", "source_branch", "target_branch")}
    return 200, [mr for mr in mrs.values() if all(mr.get(k) == v for k, v in wanted.items())]


def _create_mr(
    api: GitLabApi, project: str, mrs: dict[int, Any], ids: Any, query: Any, body: Any
) -> tuple[int, Any]:
    if any(
        mr["source_branch"] == body["source_branch"] and mr["state"] == "opened"
        for mr in mrs.values()
    ):
        return 409, {
            "message": ["Another open merge request already exists for this source branch"]
        }
    return 201, api.merge_request(project, body)


def _get_mr(
    api: GitLabApi, project: str, mrs: dict[int, Any], ids: Any, query: Any, body: Any
) -> tuple[int, Any]:
    mr = mrs.get(int(ids["iid"]))
    return (200, mr) if mr else (404, {"message": "404 Not found"})


def _update_mr(
    api: GitLabApi, project: str, mrs: dict[int, Any], ids: Any, query: Any, body: Any
) -> tuple[int, Any]:
    mr = mrs.get(int(ids["iid"]))
    if mr is None:
        return 404, {"message": "404 Not found"}
    event = body.pop("state_event", None)
    added = [label for label in str(body.pop("add_labels", "")).split(",") if label]
    mr["labels"] = list(dict.fromkeys([*mr["labels"], *added]))
    if "reviewer_ids" in body:
        names = {number: name for name, number in api.users.items()}
        wanted = body.pop("reviewer_ids")
        mr["reviewers"] = [{"id": i, "username": names[i]} for i in wanted if i in names]
    mr.update(body)
    if event:
        mr["state"] = {"close": "closed", "reopen": "opened"}[event]
    return 200, mr


def _note(
    api: GitLabApi, project: str, mrs: dict[int, Any], ids: Any, query: Any, body: Any
) -> tuple[int, Any]:
    mr = mrs.get(int(ids["iid"]))
    if mr is None:
        return 404, {"message": "404 Not found"}
    mr.setdefault("notes", []).append(body["body"])
    return 201, {"id": len(mr["notes"]), "body": body["body"], "noteable_iid": mr["iid"]}


def _pipelines(
    api: GitLabApi, project: str, mrs: Any, ids: Any, query: dict[str, list[str]], body: Any
) -> tuple[int, Any]:
    found = [
        p
        for p in api.pipelines.get(project, [])
        if p["sha"] == query.get("sha", [p["sha"]])[0]
        and p["ref"] == query.get("ref", [p["ref"]])[0]
    ]
    found.sort(key=lambda p: p["id"], reverse=query.get("sort") == ["desc"])
    return 200, [{k: v for k, v in p.items() if k != "jobs"} for p in found][
        : int(query.get("per_page", ["20"])[0])
    ]


def _jobs(
    api: GitLabApi, project: str, mrs: Any, ids: Any, query: dict[str, list[str]], body: Any
) -> tuple[int, Any]:
    pipeline = next(
        (p for p in api.pipelines.get(project, []) if p["id"] == int(ids["pipeline"])), None
    )
    if pipeline is None:
        return 404, {"message": "404 Not found"}
    scope = query.get("scope[]")
    return 200, [j for j in pipeline["jobs"] if scope is None or j["status"] in scope]


def _trace(
    api: GitLabApi, project: str, mrs: Any, ids: Any, query: Any, body: Any
) -> tuple[int, Any]:
    """A job's log as plain text (`trace` on the job, empty when it printed nothing)."""
    jobs = [j for p in api.pipelines.get(project, []) for j in p["jobs"]]
    job = next((j for j in jobs if j["id"] == int(ids["job"])), None)
    if job is None:
        return 404, {"message": "404 Job Not Found"}
    return 200, str(job.get("trace", "")).encode()


def _retry(
    api: GitLabApi, project: str, mrs: Any, ids: Any, query: Any, body: Any
) -> tuple[int, Any]:
    """A new job in the job's place, pending, as GitLab answers a retry."""
    for pipeline in api.pipelines.get(project, []):
        for job in pipeline["jobs"]:
            if job["id"] == int(ids["job"]):
                job.update(status="pending", failure_reason=None)
                pipeline["status"] = "running"
                return 201, {**job, "id": job["id"] + 1000}
    return 404, {"message": "404 Job Not Found"}


def _users(
    api: GitLabApi, project: str, mrs: Any, ids: Any, query: dict[str, list[str]], body: Any
) -> tuple[int, Any]:
    wanted = query.get("username", [None])[0]
    return 200, [
        {"id": number, "username": name, "state": "active"}
        for name, number in api.users.items()
        if wanted in (None, name)
    ]


def _group_projects(
    api: GitLabApi, project: str, mrs: Any, ids: Any, query: dict[str, list[str]], body: Any
) -> tuple[int, Any]:
    wanted = {t for t in query.get("topic", [""])[0].split(",") if t}
    return 200, [
        {"id": n, "path_with_namespace": path, "topics": api.topics.get(path, [])}
        for n, path in enumerate(api.group_projects, 1)
        if wanted <= set(api.topics.get(path, []))
    ]


_HANDLERS: dict[tuple[str, str], Handler] = {
    (r.method, r.pattern): h
    for r, h in zip(
        ROUTES,
        [
            _list_mrs,
            _create_mr,
            _get_mr,
            _update_mr,
            _note,
            _pipelines,
            _jobs,
            _trace,
            _retry,
            _users,
            _group_projects,
        ],
        strict=True,
    )
}


class _GitLabHandler(JsonHandler):
    def _handle(self) -> None:
        api: GitLabApi = self.server.owner  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        raw = self.read_body()
        body = json.loads(raw) if raw else {}
        query = parse_qs(url.query)
        headers: dict[str, str] = {}
        violations: list[dict[str, Any]]
        with api.lock:
            if self.headers.get("PRIVATE-TOKEN") != api.token:
                status, payload, violations = 401, {"message": "401 Unauthorized"}, []
            elif api.throttled > 0:
                api.throttled -= 1
                status, payload, violations = 429, {"message": "Retry later"}, []
                headers["Retry-After"] = "1"
            elif not url.path.startswith("/api/v4/"):
                status, payload, violations = (
                    404,
                    {},
                    [{"location": ["request"], "message": f"not under /api/v4: {url.path}"}],
                )
            else:
                status, payload, violations = api.answer(
                    self.command, url.path.removeprefix("/api/v4"), query, dict(body)
                )
            api.exchanges.append(
                Exchange(
                    self.command,
                    url.path,
                    query,
                    body or None,
                    status,
                    violations,
                    time.monotonic(),
                )
            )
        if isinstance(payload, bytes):  # a job trace: plain text, as GitLab sends it
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self.send_json(status, headers, json.dumps(payload).encode())
