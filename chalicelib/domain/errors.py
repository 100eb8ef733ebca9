"""The domain's own errors.

Every rule the service enforces fails with one of these classes. Each class has its message
for a person in Chinese and English (`TEXT`, a `Text`), and a raise may give a more precise
`Text` of its own (both languages again), plus machine-readable details; `api/errors.py` is
the one place that turns each class into an HTTP status and a stable error code, and picks
the language the request asked for.
"""

from __future__ import annotations

from typing import Any, ClassVar

from chalicelib.domain.text import Language, Text


class DomainError(Exception):
    """Base of every error a rule of the domain raises."""

    TEXT: ClassVar[Text] = Text("请求无法处理", "The request cannot be processed")

    def __init__(self, text: Text | None = None, details: dict[str, Any] | None = None) -> None:
        self.text = text or type(self).TEXT
        super().__init__(self.text.zh)
        self.details = details

    @property
    def message(self) -> str:
        """The Chinese message (logs, import reports, stored failure reasons)."""
        return self.text.zh

    def message_in(self, language: Language) -> str:
        return self.text.in_language(language)


class ConcurrentUpdate(Exception):
    """A conditional write lost a race; the caller reads again and retries.

    Not a DomainError: it never reaches a person, and escaping it is a bug (a 500).
    """


class InvalidJson(DomainError):
    """The request body is not well-formed JSON."""

    TEXT = Text("请求内容不是有效的 JSON", "The request body is not valid JSON")


class InvalidRequest(DomainError):
    """A field is missing, has the wrong type, or is not allowed."""

    TEXT = Text("请求参数不正确", "The request is not valid")


class UnsupportedMediaType(DomainError):
    """The request's Content-Type is not one the route accepts."""

    TEXT = Text("不支持的内容类型", "Unsupported content type")


class InvalidIdNumber(DomainError):
    """The ID number does not satisfy the rules of its document type."""

    TEXT = Text("证件号码不正确", "The ID number is not valid")


class WeakPassword(DomainError):
    """The password does not meet the password policy."""

    TEXT = Text("密码强度不足", "The password is too weak")


class UsernameTaken(DomainError):
    """Another account already uses this username."""

    TEXT = Text("用户名已被使用", "This username is already taken")

    def __init__(self) -> None:
        super().__init__(details={"field": "username"})


class InvalidCredentials(DomainError):
    """Unknown username or wrong password; which of the two is never said."""

    TEXT = Text("用户名或密码错误", "Wrong username or password")

    def __init__(self, attempts_left: int) -> None:
        super().__init__(details={"attempts_left": attempts_left})


class WrongPassword(DomainError):
    """The current password given to confirm a change is wrong."""

    TEXT = Text("密码不正确", "The password is wrong")

    def __init__(self, attempts_left: int, field: str = "password") -> None:
        super().__init__(details={"field": field, "attempts_left": attempts_left})


class AccountLocked(DomainError):
    """Too many wrong passwords in a row; the account is locked for a while."""

    TEXT = Text("密码错误次数过多，账号已临时锁定，请稍后再试",
                "Too many wrong passwords: the account is locked for a while, please try again later")

    def __init__(self, retry_after_seconds: int) -> None:
        minutes = max(1, -(-retry_after_seconds // 60))
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(Text(f"密码错误次数过多，账号已临时锁定，请 {minutes} 分钟后再试",
                              f"Too many wrong passwords: the account is locked; please try again in {minutes} {unit}"),
                         details={"retry_after_seconds": retry_after_seconds})
        self.retry_after_seconds = retry_after_seconds


class Unauthorized(DomainError):
    """The access token is missing, expired, forged or revoked."""

    TEXT = Text("请先登录", "Please log in first")


class NoticeNotAccepted(DomainError):
    """The holder has not accepted the current service notice."""

    TEXT = Text("请先阅读并同意服务须知", "Please read and accept the service notice first")


class IdentityNotVerified(DomainError):
    """The account has not proven that it holds its ID document (身份核验)."""

    TEXT = Text("请先完成身份核验", "Please verify your identity first")


class InvalidCode(DomainError):
    """The one-time code is wrong, expired, used, or was not sent for this."""

    TEXT = Text("验证码不正确或已失效，请重新获取", "The code is wrong or no longer valid; please request a new one")


class ProofFailed(DomainError):
    """The certificate number and name do not prove the ID document (or the document has a
    phone on record, so only the SMS proof can)."""

    TEXT = Text("身份核验未通过：证书编号或姓名与登记信息不符，或该证件须通过短信验证码核验",
                "Identity not verified: the certificate number or the name does not match the records, "
                "or this ID document can only be verified by an SMS code")


class IdDocumentClaimed(DomainError):
    """The proof succeeded, but another proven account holds the ID document; only the SMS
    proof to the phone on record takes it over."""

    TEXT = Text("该证件已由其他账号完成身份核验。如该账号不是您本人的，请通过短信验证码核验，"
                "或联系发证机构登记您的手机号码",
                "Another account has verified this ID document. If that account is not yours, verify by SMS code, "
                "or ask the issuing authority to record your mobile phone number")


class NoticeOutdated(DomainError):
    """The holder tried to accept a version of the notice that is no longer current."""

    TEXT = Text("服务须知已更新，请阅读最新版本后再同意",
                "The service notice has changed; please read the current version and accept it")


class NotFound(DomainError):
    """The resource does not exist, or belongs to somebody else."""

    TEXT = Text("未找到该资源", "Not found")


class InvalidScenario(DomainError):
    """The use scenario is not in the scenario list."""

    TEXT = Text("使用场景不正确", "Unknown use scenario")


class InvalidValidity(DomainError):
    """The validity is not a whole number of days from 1 to 90."""

    TEXT = Text("加注有效期须为 1 至 90 天", "The annotation's validity must be 1 to 90 days")


class AnnotationQuotaExceeded(DomainError):
    """Three annotations already count in the 90-day window."""

    TEXT = Text("90 日内同一证书最多可申请 3 次加注", "A certificate can be annotated at most 3 times in 90 days")


class AnnotationNotRequired(DomainError):
    """A certificate electronic file is viewed directly, without annotation."""

    TEXT = Text("证书电子文件无需加注，可直接查看或下载",
                "A certificate electronic file needs no annotation: view or download it directly")


class CertificateNotValid(DomainError):
    """The certificate is cancelled or revoked."""

    TEXT = Text("该证书不是有效状态", "This certificate is not valid")


class AnnotationPending(DomainError):
    """The annotated copy is still being generated."""

    TEXT = Text("证书生成中，请稍候", "The copy is being generated, please wait")


class AnnotationFailed(DomainError):
    """The annotated copy could not be generated."""

    TEXT = Text("加注件生成失败，请重新申请", "The annotated copy could not be generated; please apply again")


class AnnotationExpired(DomainError):
    """The annotation's validity is over."""

    TEXT = Text("加注件已过期，请重新申请加注", "The annotated copy has expired; please apply for a new annotation")


class AnnotationWithdrawn(DomainError):
    """The holder withdrew the annotation early."""

    TEXT = Text("加注件已撤回", "The annotated copy has been withdrawn")


class AnnotationNotReady(DomainError):
    """Only a ready annotation can be withdrawn."""

    TEXT = Text("只有已完成且在有效期内的加注件可以撤回",
                "Only a ready annotated copy within its validity can be withdrawn")


class AnnotationRequired(DomainError):
    """An e-certificate is only served through a valid annotation."""

    TEXT = Text("电子证书须先申请加注，方可查看或下载",
                "An e-certificate can be viewed or downloaded only through an annotation; please apply first")


class UnknownCode(DomainError):
    """No document the service issued has this verification code."""

    TEXT = Text("未找到该验证码对应的加注件或证书电子文件",
                "No annotated copy or certificate electronic file has this verification code")


class UnknownDocument(DomainError):
    """The uploaded file is no document this service issued (or its signature is broken)."""

    TEXT = Text("未找到与该文件对应的加注件或证书电子文件",
                "This file is no annotated copy or certificate electronic file issued by this service")


class FileNotReady(DomainError):
    """An electronic file asked for the first time is still being rendered and signed."""

    TEXT = Text("证书电子文件正在生成，请稍后再试",
                "The certificate electronic file is being generated; please try again shortly")

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(details={"retry_after_seconds": retry_after_seconds})
        self.retry_after_seconds = retry_after_seconds


class InvalidDocument(DomainError):
    """The uploaded file is not a PDF."""

    TEXT = Text("上传的文件不是 PDF 文档", "The uploaded file is not a PDF document")


class DocumentTooLarge(DomainError):
    """The uploaded file is larger than the limit."""

    TEXT = Text("文件过大", "The file is too large")


class RateLimited(DomainError):
    """Too many requests from one client in a short time."""

    TEXT = Text("请求过于频繁，请稍后再试", "Too many requests; please try again later")

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(details={"retry_after_seconds": retry_after_seconds})
        self.retry_after_seconds = retry_after_seconds


class RenderError(DomainError):
    """The annotated copy cannot be rendered, e.g. a character the font lacks."""

    TEXT = Text("加注件无法生成", "The annotated copy cannot be generated")
