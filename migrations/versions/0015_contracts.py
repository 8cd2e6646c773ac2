"""contracts: responsibility contracts (责任书) and their signatures

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01

`contracts` holds one contract per township, kind, school year, party and version (a party is a
village, a school, or a teacher's membership, whose contract its school issues: `school_id`) (the unique
key makes a second issuance create nothing), with its rendered text (never changed), the text's
SHA-256, its public verification code and, once generated, its PDF and the PDF's SHA-256.
`contract_signatures` holds each side's signature (one per side), with the signature drawn on
screen if any (a stored PNG's key). A correction is a new version naming the one it replaces.
"""

from alembic import op
import sqlalchemy as sa

from baoxue.platform.rls import create_township_table, township_fk

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    create_township_table(op, 'contracts',
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('school_year', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('previous_id', BigId, nullable=True),
        sa.Column('party_kind', sa.String(length=20), nullable=False),
        sa.Column('party_id', BigId, nullable=False),
        sa.Column('school_id', BigId, nullable=True),
        sa.Column('party_name', sa.String(length=80), nullable=False),
        sa.Column('issuer_name', sa.String(length=80), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('text_sha256', sa.String(length=64), nullable=False),
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('issued_at', When, nullable=False),
        sa.Column('sign_by', sa.Date(), nullable=False),
        sa.Column('pdf_key', sa.String(length=200), server_default='', nullable=False),
        sa.Column('pdf_sha256', sa.String(length=64), server_default='', nullable=False),
        sa.UniqueConstraint('township_id', 'kind', 'school_year', 'party_kind', 'party_id', 'version',
                            name='uq_contracts_party'),
        sa.UniqueConstraint('township_id', 'code', name='uq_contracts_code'),
        township_fk('previous_id', 'contracts'),
        township_fk('school_id', 'schools'),
        indexes=(('party_kind', 'party_id'), ('school_year', 'kind'), ('school_id',)),
    )
    create_township_table(op, 'contract_signatures',
        sa.Column('contract_id', BigId, nullable=False),
        sa.Column('side', sa.String(length=10), nullable=False),
        sa.Column('user_id', BigId, nullable=False),
        sa.Column('membership_id', BigId, nullable=False),
        sa.Column('role', sa.String(length=32), nullable=False),
        sa.Column('signer_name', sa.String(length=120), nullable=False),
        sa.Column('signed_at', When, nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('signature_key', sa.String(length=200), server_default='', nullable=False),
        sa.UniqueConstraint('township_id', 'contract_id', 'side', name='uq_contract_signatures_side'),
        township_fk('contract_id', 'contracts', ondelete='CASCADE'),
        indexes=(('contract_id',),),
    )


def downgrade() -> None:
    for table in ('contract_signatures', 'contracts'):
        op.drop_table(table)
