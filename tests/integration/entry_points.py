"""Which Lambda function's code each AWS request of ours comes from, for the integration tests'
check of the roles (conftest.py). Frames are named `module:qualname`.

A request is the code of the innermost handler or service of ENTRY_POINTS on its stack (so list
only what one function runs as its use case, never a helper that two functions share); with none
on the stack, a test called an adapter or repository directly, and the outermost frame of our code
must be in DIRECT, which names every function whose code calls it. A request from anywhere else
fails the run, so that a new code path is placed on purpose.
"""

from __future__ import annotations

API, AUTHORIZER = {"APIHandler"}, {"HolderToken"}

# Wrappers that every handler runs through: the frame inside them decides.
PASS_THROUGH = {"chalicelib.observability"}

ENTRY_POINTS: dict[str, set[str]] = {
    # The event handlers, as Lambda calls them.
    "chalicelib.workers:render_worker": {"RenderWorker"},
    "chalicelib.workers:notifier": {"Notifier"},
    "chalicelib.workers:sweeper": {"Sweeper"},
    "chalicelib.workers:import_trigger": {"ImportTrigger"},
    "chalicelib.workers:import_worker": {"ImportWorker"},
    "chalicelib.workers:import_dead_letters": {"ImportDeadLetters"},
    "chalicelib.workers:reminders": {"Reminders"},
    "chalicelib.rotation:token_key_rotation": {"TokenKeyRotation"},
    "chalicelib.api.auth:holder_token": AUTHORIZER,
    # Services, called by the tests as the handlers call them.
    "chalicelib.services.accounts:authenticate": AUTHORIZER,
    **{f"chalicelib.services.accounts:{name}": API
       for name in ("register", "login", "refresh", "logout", "logout_everywhere", "change_password")},
    **{f"chalicelib.services.annotating:{name}": API
       for name in ("apply", "file_link", "list_for", "owned_annotation", "withdraw")},
    "chalicelib.services.account_data:export": API,
    "chalicelib.services.account_data:Deletion.delete": API,
    "chalicelib.services.contacts:ContactVerification.send_code": API,
    "chalicelib.services.contacts:ContactVerification.confirm": API,
    **{f"chalicelib.services.identity:Identity.{name}": API
       for name in ("send_code", "prove_by_sms", "prove_by_certificate", "take")},
    "chalicelib.services.identity:give_back_copies": API,
    "chalicelib.services.passwords:PasswordReset.forgot": API,
    "chalicelib.services.passwords:PasswordReset.reset": API,
    **{f"chalicelib.services.verifying:Verifier.{name}": API for name in ("by_code", "by_file", "batch")},
    **{f"chalicelib.services.verifying:{name}": API for name in ("holder_log", "copy_log", "file_log")},
    "chalicelib.services.efiles:file_link": API,
    "chalicelib.services.efiles:render_file": {"RenderWorker"},
    "chalicelib.services.rendering:render_annotation": {"RenderWorker"},
    "chalicelib.services.rendering:process_batch": {"RenderWorker"},
    "chalicelib.services.sweeping:sweep": {"Sweeper"},
    "chalicelib.services.reminding:remind": {"Reminders"},
    "chalicelib.services.notifying:process_batch": {"Notifier"},
    "chalicelib.services.batches:start_import": {"ImportTrigger"},
    "chalicelib.services.batches:load_chunk": {"ImportWorker"},
    "chalicelib.services.batches:chunk_died": {"ImportDeadLetters"},
    # The report's parts, read in threads (so no caller on the stack): whoever finishes an import.
    "chalicelib.services.batches:finish.<locals>.<lambda>": {"ImportTrigger", "ImportWorker", "ImportDeadLetters"},
    # The shards of a sparse index, read in threads (domain.shards): whoever reads that index.
    "chalicelib.repositories.annotations:AnnotationRepository.pending_before.<locals>.<lambda>": {"Sweeper"},
    "chalicelib.repositories.annotations:AnnotationRepository.expiring_on.<locals>.<lambda>": {"Reminders"},
    "chalicelib.repositories.shards:_first_page": {"Reminders"},  # certificates_to_announce's next shard
}

# Adapters, getters and repository methods a test calls directly: every function whose code calls them.
DIRECT: dict[str, set[str]] = {
    "chalicelib.deps:token_signer": API | AUTHORIZER,
    "chalicelib.security:TokenSigner.__init__": API | AUTHORIZER,
    "chalicelib.security:TokenSigner.read": AUTHORIZER,
    "chalicelib.deps:id_hasher": API | {"ImportWorker"},
    "chalicelib.deps:copy_renderer": {"RenderWorker"},
    "chalicelib.notify:Notifier.deliver": {"Notifier"},
    "chalicelib.repositories.accounts:AccountRepository.user": API | {"Reminders"},
    "chalicelib.repositories.accounts:AccountRepository.user_by_username": API,
    "chalicelib.repositories.accounts:AccountRepository.document": API | {"Reminders"},
    "chalicelib.repositories.accounts:AccountRepository.set_contact": API,
    "chalicelib.repositories.accounts:AccountRepository.revoke_token": API,
    "chalicelib.repositories.accounts:AccountRepository.record_phone": {"ImportWorker"},
    "chalicelib.repositories.annotations:AnnotationRepository.annotation":
        API | {"RenderWorker", "Sweeper", "Reminders"},
    "chalicelib.repositories.annotations:AnnotationRepository.annotations_of": API,
    "chalicelib.repositories.certificates:CertificateRepository.certificate": API | {"RenderWorker", "Reminders"},
    "chalicelib.repositories.certificates:CertificateRepository.certificates_of": API,
    "chalicelib.repositories.certificates:CertificateRepository.put_certificate": {"ImportWorker"},
    "chalicelib.repositories.limits:LimitRepository.code": API,
    "chalicelib.repositories.annotations:AnnotationRepository.give_back": API,
    "chalicelib.repositories.certificates:CertificateRepository.load_certificates": {"ImportWorker"},
    "chalicelib.repositories.annotations:AnnotationRepository.claim_render": {"RenderWorker"},
    "chalicelib.repositories.annotations:AnnotationRepository.mark_ready": {"RenderWorker"},
    "chalicelib.repositories.annotations:AnnotationRepository.pending_before": {"Sweeper"},
    "chalicelib.repositories.annotations:AnnotationRepository.expiring_on": {"Reminders"},
    "chalicelib.repositories.certificates:CertificateRepository.certificates_to_announce": {"Reminders"},
    # The generator certificates_to_announce returns, iterated by a test: its frame is the outermost of ours.
    "chalicelib.repositories.shards:stream_all": {"Reminders"},
    "chalicelib.repositories.certificates:CertificateRepository.claim_announcement": {"Reminders"},
    "chalicelib.services.imports:import_lines": {"ImportWorker"},
    # No function's code: the tests' own uploads of batch files and reads of what was stored
    # (a function reaches these only through a service, which is then the outermost frame).
    "chalicelib.storage:FileStore.put": set(),
    "chalicelib.storage:FileStore.get": set(),
    "chalicelib.storage:FileStore.get_json": set(),
}
