"""The domain's own errors.

Every rule the service enforces fails with one of these classes. They carry a Chinese
message for a person and, where useful, machine-readable details; `api/errors.py` is the
one place that turns each class into an HTTP status and a stable error code.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a rule of the domain raises."""

    message = "请求无法处理"

    def __init__(self, message: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.details = details


class ConcurrentUpdate(Exception):
    """A conditional write lost a race; the caller reads again and retries.

    Not a DomainError: it never reaches a person, and escaping it is a bug (a 500).
    """


class InvalidJson(DomainError):
    """The request body is not well-formed JSON."""

    message = "请求内容不是有效的 JSON"


class InvalidRequest(DomainError):
    """A field is missing, has the wrong type, or is not allowed."""

    message = "请求参数不正确"


class UnsupportedMediaType(DomainError):
    """The request's Content-Type is not one the route accepts."""

    message = "不支持的内容类型"


class InvalidIdNumber(DomainError):
    """The ID number does not satisfy the rules of its document type."""

    message = "证件号码不正确"


class WeakPassword(DomainError):
    """The password does not meet the password policy."""

    message = "密码强度不足"


class UsernameTaken(DomainError):
    """Another account already uses this username."""

    message = "用户名已被使用"

    def __init__(self) -> None:
        super().__init__(details={"field": "username"})


class InvalidCredentials(DomainError):
    """Unknown username or wrong password; which of the two is never said."""

    message = "用户名或密码错误"

    def __init__(self, attempts_left: int) -> None:
        super().__init__(details={"attempts_left": attempts_left})


class WrongPassword(DomainError):
    """The current password given to confirm a change is wrong."""

    message = "密码不正确"

    def __init__(self, attempts_left: int, field: str = "password") -> None:
        super().__init__(details={"field": field, "attempts_left": attempts_left})


class AccountLocked(DomainError):
    """Too many wrong passwords in a row; the account is locked for a while."""

    message = "密码错误次数过多，账号已临时锁定，请稍后再试"

    def __init__(self, retry_after_seconds: int) -> None:
        minutes = max(1, -(-retry_after_seconds // 60))
        super().__init__(f"密码错误次数过多，账号已临时锁定，请 {minutes} 分钟后再试",
                         details={"retry_after_seconds": retry_after_seconds})
        self.retry_after_seconds = retry_after_seconds


class Unauthorized(DomainError):
    """The access token is missing, expired, forged or revoked."""

    message = "请先登录"


class NoticeNotAccepted(DomainError):
    """The holder has not accepted the current service notice."""

    message = "请先阅读并同意服务须知"


class IdentityNotVerified(DomainError):
    """The account has not proven that it holds its ID document (身份核验)."""

    message = "请先完成身份核验"


class InvalidCode(DomainError):
    """The one-time code is wrong, expired, used, or was not sent for this."""

    message = "验证码不正确或已失效，请重新获取"


class ProofFailed(DomainError):
    """The certificate number and name do not prove the ID document (or the document has a
    phone on record, so only the SMS proof can)."""

    message = "身份核验未通过：证书编号或姓名与登记信息不符，或该证件须通过短信验证码核验"


class IdDocumentClaimed(DomainError):
    """The proof succeeded, but another proven account holds the ID document; only the SMS
    proof to the phone on record takes it over."""

    message = ("该证件已由其他账号完成身份核验。如该账号不是您本人的，请通过短信验证码核验，"
               "或联系发证机构登记您的手机号码")


class NoticeOutdated(DomainError):
    """The holder tried to accept a version of the notice that is no longer current."""

    message = "服务须知已更新，请阅读最新版本后再同意"


class NotFound(DomainError):
    """The resource does not exist, or belongs to somebody else."""

    message = "未找到该资源"


class InvalidScenario(DomainError):
    """The use scenario is not in the scenario list."""

    message = "使用场景不正确"


class InvalidValidity(DomainError):
    """The validity is not a whole number of days from 1 to 90."""

    message = "加注有效期须为 1 至 90 天"


class AnnotationQuotaExceeded(DomainError):
    """Three annotations already count in the 90-day window."""

    message = "90 日内同一证书最多可申请 3 次加注"


class AnnotationNotRequired(DomainError):
    """A certificate electronic file is viewed directly, without annotation."""

    message = "证书电子文件无需加注，可直接查看或下载"


class CertificateNotValid(DomainError):
    """The certificate is cancelled or revoked."""

    message = "该证书不是有效状态"


class AnnotationPending(DomainError):
    """The annotated copy is still being generated."""

    message = "证书生成中，请稍候"


class AnnotationFailed(DomainError):
    """The annotated copy could not be generated."""

    message = "加注件生成失败，请重新申请"


class AnnotationExpired(DomainError):
    """The annotation's validity is over."""

    message = "加注件已过期，请重新申请加注"


class AnnotationWithdrawn(DomainError):
    """The holder withdrew the annotation early."""

    message = "加注件已撤回"


class AnnotationNotReady(DomainError):
    """Only a ready annotation can be withdrawn."""

    message = "只有已完成且在有效期内的加注件可以撤回"


class AnnotationRequired(DomainError):
    """An e-certificate is only served through a valid annotation."""

    message = "电子证书须先申请加注，方可查看或下载"


class UnknownCode(DomainError):
    """No document the service issued has this verification code."""

    message = "未找到该验证码对应的加注件或证书电子文件"


class UnknownDocument(DomainError):
    """The uploaded file is no document this service issued (or its signature is broken)."""

    message = "未找到与该文件对应的加注件或证书电子文件"


class FileNotReady(DomainError):
    """An electronic file asked for the first time is still being rendered and signed."""

    message = "证书电子文件正在生成，请稍后再试"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(details={"retry_after_seconds": retry_after_seconds})
        self.retry_after_seconds = retry_after_seconds


class InvalidDocument(DomainError):
    """The uploaded file is not a PDF."""

    message = "上传的文件不是 PDF 文档"


class DocumentTooLarge(DomainError):
    """The uploaded file is larger than the limit."""

    message = "文件过大"


class RateLimited(DomainError):
    """Too many requests from one client in a short time."""

    message = "请求过于频繁，请稍后再试"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(details={"retry_after_seconds": retry_after_seconds})
        self.retry_after_seconds = retry_after_seconds


class RenderError(DomainError):
    """The annotated copy cannot be rendered, e.g. a character the font lacks."""

    message = "加注件无法生成"
