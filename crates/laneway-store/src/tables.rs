//! Table and column names, for sea-query.
#![allow(missing_docs)]

use sea_query::Iden;

#[derive(Iden, Clone, Copy)]
pub enum Workspaces {
    Table,
    Id,
    Name,
    TimeZone,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum Members {
    Table,
    Id,
    WorkspaceId,
    Name,
    Email,
    Role,
    PasswordHash,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum ApiKeys {
    Table,
    Id,
    WorkspaceId,
    MemberId,
    Name,
    Scope,
    TokenHash,
    Prefix,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum ObjectTypes {
    Table,
    Id,
    WorkspaceId,
    Name,
    Slug,
    Icon,
    Fields,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum Pipelines {
    Table,
    Id,
    WorkspaceId,
    Name,
    Slug,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum Stages {
    Table,
    Id,
    WorkspaceId,
    PipelineId,
    Name,
    Slug,
    Position,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum Records {
    Table,
    Id,
    WorkspaceId,
    ObjectTypeId,
    PipelineId,
    StageId,
    AssigneeId,
    Title,
    TitleSearch,
    Data,
    Position,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum Tasks {
    Table,
    Id,
    WorkspaceId,
    RecordId,
    AssigneeId,
    Title,
    Notes,
    DueDate,
    Completed,
    CompletedAt,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum Events {
    Table,
    Seq,
    /// PostgreSQL only: the writing transaction's id (`xid8`), for commit-ordered reading.
    Tx,
    Id,
    WorkspaceId,
    Event,
    ResourceType,
    ResourceId,
    CreatedAt,
    Data,
    /// The scope columns were filled when the event was written.
    Scoped,
    ScopeRecordId,
    ScopePipelineId,
}

#[derive(Iden, Clone, Copy)]
pub enum IdempotencyKeys {
    Table,
    WorkspaceId,
    IdemKey,
    RequestHash,
    Status,
    Body,
    CreatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum Settings {
    Table,
    Name,
    Value,
}

#[derive(Iden, Clone, Copy)]
pub enum Webhooks {
    Table,
    Id,
    WorkspaceId,
    Name,
    Url,
    Events,
    PipelineId,
    RecordId,
    Filter,
    Ordering,
    RateLimit,
    IsActive,
    DisabledReason,
    Secret,
    PreviousSecret,
    PreviousSecretUntil,
    LastTriggeredAt,
    LastStatus,
    FailureCount,
    RateWindowStart,
    RateWindowCount,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum WebhookDeliveries {
    Table,
    Seq,
    Id,
    WorkspaceId,
    WebhookId,
    EventId,
    Event,
    ResourceKey,
    Payload,
    Status,
    Attempts,
    SeriesStart,
    DueAt,
    LeaseToken,
    LastStatusCode,
    LastDurationMs,
    LastError,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum WebhookAttempts {
    Table,
    Id,
    DeliveryId,
    Attempt,
    StartedAt,
    DurationMs,
    StatusCode,
    Error,
    ResponseHeaders,
    ResponseBody,
}

#[derive(Iden, Clone, Copy)]
pub enum WebhookFanout {
    Table,
    Id,
    Tx,
    Seq,
}

#[derive(Iden, Clone, Copy)]
pub enum Notes {
    Table,
    Id,
    WorkspaceId,
    Title,
    Body,
    RecordId,
    PipelineId,
    AuthorId,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum Comments {
    Table,
    Id,
    WorkspaceId,
    RecordId,
    TaskId,
    Body,
    AuthorId,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum Contracts {
    Table,
    Id,
    WorkspaceId,
    RecordId,
    Title,
    Body,
    Status,
    SignerName,
    SignedAt,
    SentAt,
    SignTokenHash,
    SignTokenExpiresAt,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum Forms {
    Table,
    Id,
    WorkspaceId,
    Name,
    ObjectTypeId,
    PipelineId,
    StageId,
    Fields,
    TitleField,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}
